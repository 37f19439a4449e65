"""ImageNet classifiers built on the RepVGG backbone."""
