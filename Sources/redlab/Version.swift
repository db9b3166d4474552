/// redlab's version: the one place it is written. `redlab --version` prints it and `scripts/package` names
/// the Debian package after it.
let redlabVersion = "0.1.0"
