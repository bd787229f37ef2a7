/// Lower-case hex digits of `bytes` (digests, signatures): one table look-up per nibble, no
/// String per byte.
public func lowerHex(_ bytes: some Sequence<UInt8>) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
        out.append(lowerHexDigits[Int(byte >> 4)])
        out.append(lowerHexDigits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// `0`–`9`, `a`–`f` in UTF-8.
let lowerHexDigits: [UInt8] = Array("0123456789abcdef".utf8)
