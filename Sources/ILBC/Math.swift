#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The reference evaluates these in double precision and rounds the result to float;
// doing the same keeps our output within a few LSB of it.

@inline(__always) func cosine(_ x: Float) -> Float { Float(cos(Double(x))) }
@inline(__always) func powerOfTen(_ x: Float) -> Float { Float(pow(10.0, Double(x))) }
@inline(__always) func logarithm10(_ x: Float) -> Float { Float(log10(Double(x))) }
@inline(__always) func squareRoot(_ x: Float) -> Float { Float(Double(x).squareRoot()) }
