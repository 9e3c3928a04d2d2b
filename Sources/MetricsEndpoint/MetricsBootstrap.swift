import CoreMetrics
import Prometheus

extension MetricsEndpoint {
    /// Duration buckets for the scan and chunk histograms: 5 ms (a warm scan) to 5 min.
    public static let durationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        .seconds(30), .seconds(60), .seconds(120), .seconds(300),
    ]

    /// A registry behind a swift-metrics factory, with ``durationBuckets`` for every timer.
    public static func prometheusFactory() -> (PrometheusCollectorRegistry, PrometheusMetricsFactory) {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = durationBuckets
        return (registry, factory)
    }

    /// For an executable's `--metrics HOST:PORT`: bootstraps the process-wide `MetricsSystem` with a
    /// Prometheus registry and serves it on `address`. Call once, before anything records a metric.
    public static func bootstrapAndServe(_ address: String) throws -> MetricsEndpoint {
        let (host, port) = try parse(address)
        let (registry, factory) = prometheusFactory()
        let endpoint = try MetricsEndpoint(host: host, port: port, registry: registry)
        MetricsSystem.bootstrap(factory)
        return endpoint
    }
}
