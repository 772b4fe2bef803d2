import { MetricsService } from './metrics.service.js';

describe(MetricsService.name, () => {
  it('keeps one registry per instance: two services in one process count apart, each with its process metrics', async () => {
    const first = new MetricsService();
    const second = new MetricsService();
    first.onModuleInit();
    second.onModuleInit();
    first.scanReceived('station-1', 'dicos');
    first.scanReceived('station-1', 'dicos');
    second.scanReceived('station-1', 'dicos');
    expect(await first.registry.getSingleMetricAsString('niix_scans_received_total')).toContain('niix_scans_received_total{station="station-1",adapter="dicos"} 2');
    expect(await second.registry.getSingleMetricAsString('niix_scans_received_total')).toContain('niix_scans_received_total{station="station-1",adapter="dicos"} 1');
    expect(await second.registry.metrics()).toContain('process_cpu_user_seconds_total');
  });

  it('labels HTTP requests with the route pattern and the status code as given', async () => {
    const metrics = new MetricsService();
    metrics.httpRequest('GET', '/api/v1/scans/:id', 200, 0.012);
    expect(await metrics.registry.getSingleMetricAsString('niix_http_request_duration_seconds')).toContain(
      'niix_http_request_duration_seconds_count{method="GET",route="/api/v1/scans/:id",status_code="200"} 1',
    );
  });
});
