"""Install manifests generated from the code: CRDs from the models, and the bundle."""
