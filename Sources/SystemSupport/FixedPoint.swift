/// `value` with exactly `decimals` digits after the point, rounded half away from zero: C's
/// `%.Nf` for the programs without Foundation's `String(format:)`. Not-finite values are "nan",
/// "inf" or "-inf"; values too large for 64-bit fixed point keep Swift's own description.
public func fixedPoint(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
    let places = max(0, min(decimals, 15))
    var scale: Int64 = 1
    for _ in 0..<places { scale *= 10 }
    let scaled = (abs(value) * Double(scale)).rounded()
    guard scaled < 9.0e18 else { return "\(value)" }
    let units = Int64(scaled)
    let whole = String(units / scale)
    let sign = value.sign == .minus ? "-" : ""  // as printf: -0.0 and small negatives print "-0"
    guard places > 0 else { return sign + whole }
    let fraction = String(units % scale)
    return sign + whole + "." + String(repeating: "0", count: places - fraction.count) + fraction
}

/// `value` in decimal, left-padded with zeros to `width` digits (C's `%0Nd`).
public func zeroPadded(_ value: Int, width: Int) -> String {
    let digits = String(value.magnitude)
    let pad = String(repeating: "0", count: max(0, width - digits.count - (value < 0 ? 1 : 0)))
    return (value < 0 ? "-" : "") + pad + digits
}
