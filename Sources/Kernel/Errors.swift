import Glibc

/// A failed system call: the call's name, errno and its text.
public struct Errno: Error, CustomStringConvertible, Sendable, Equatable {
    public var code: Int32
    public var call: String
    public var detail: String?

    public init(code: Int32, call: String, detail: String? = nil) {
        self.code = code
        self.call = call
        self.detail = detail
    }

    /// The call failed because its target name already exists (EEXIST).
    public var isAlreadyExists: Bool { code == EEXIST }

    public var description: String {
        let text = String(cString: strerror(code))
        return detail.map { "\(call) \($0): \(text)" } ?? "\(call): \(text)"
    }
}

/// A netlink request the kernel refused, or a libnl failure: the operation, libnl's NLE_* code and
/// its text, and the kernel's errno where the kernel answered.
public struct NetlinkError: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    /// libnl's NLE_* code (positive), when libnl reported the failure.
    public var libnlCode: Int32?
    /// The errno the kernel answered with (positive), when known.
    public var kernelErrno: Int32?
    public var message: String

    public init(operation: String, libnlCode: Int32? = nil, kernelErrno: Int32? = nil, message: String) {
        self.operation = operation
        self.libnlCode = libnlCode
        self.kernelErrno = kernelErrno
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }

    /// True when the kernel lacks the device type or feature asked for.
    public var isNotSupported: Bool {
        kernelErrno == EOPNOTSUPP || kernelErrno == ENODEV || kernelErrno == EAFNOSUPPORT
    }
}
