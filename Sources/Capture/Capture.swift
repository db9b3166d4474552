// Capture module.
