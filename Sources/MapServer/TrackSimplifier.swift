import Foundation

/// Douglas–Peucker simplification of a track in metres, on a local equirectangular projection
/// (accurate to well under a metre over the few kilometres a tolerance is compared across).
enum TrackSimplifier {
    /// Indices of the points to keep so that no dropped point lies farther than `tolerance` metres
    /// from the kept polyline. The first and last points are always kept.
    static func keptIndices(lat: [Double], lon: [Double], tolerance: Double) -> [Int] {
        let n = lat.count
        guard n > 2, tolerance > 0 else { return Array(0..<n) }
        let lat0 = lat[n / 2] * .pi / 180
        let mPerDegLat = 111_320.0
        let mPerDegLon = 111_320.0 * cos(lat0)
        var x = [Double](repeating: 0, count: n), y = [Double](repeating: 0, count: n)
        for i in 0..<n {
            x[i] = lon[i] * mPerDegLon
            y[i] = lat[i] * mPerDegLat
        }
        var keep = [Bool](repeating: false, count: n)
        keep[0] = true
        keep[n - 1] = true
        var stack: [(Int, Int)] = [(0, n - 1)]
        let tol2 = tolerance * tolerance
        while let (a, b) = stack.popLast() {
            guard b > a + 1 else { continue }
            let dx = x[b] - x[a], dy = y[b] - y[a]
            let len2 = dx * dx + dy * dy
            var worst = -1.0, worstIndex = -1
            for i in (a + 1)..<b {
                let px = x[i] - x[a], py = y[i] - y[a]
                var d2: Double
                if len2 == 0 {
                    d2 = px * px + py * py
                } else {
                    let t = max(0, min(1, (px * dx + py * dy) / len2))
                    let ex = px - t * dx, ey = py - t * dy
                    d2 = ex * ex + ey * ey
                }
                if d2 > worst { worst = d2; worstIndex = i }
            }
            if worst > tol2 {
                keep[worstIndex] = true
                stack.append((a, worstIndex))
                stack.append((worstIndex, b))
            }
        }
        return keep.indices.filter { keep[$0] }
    }
}
