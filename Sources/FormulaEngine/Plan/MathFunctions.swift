#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(ucrt)
import ucrt
#endif

/// The C library's natural logarithm (the standard library has none without Foundation).
@inline(__always)
func naturalLogarithm(_ x: Double) -> Double { log(x) }
