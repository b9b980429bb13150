"""An existing OpenID Connect provider adds ID-JAG issuance with xaa (see README.md)."""
