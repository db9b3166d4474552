// VRRP module.
