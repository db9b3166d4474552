// RSTP module.
