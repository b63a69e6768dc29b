import { exposedFamilies, familyOf, metricNames } from './promql';

describe('metricNames', () => {
  it('finds the selected metrics and nothing else', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, route) (rate(strata_http_request_duration_seconds_bucket{namespace=~"$namespace",route="/x"}[$__rate_interval])))',
      ),
    ).toEqual(['strata_http_request_duration_seconds_bucket']);
    expect(
      metricNames(
        'strata:http_errors:ratio_rate5m > 0.05 and on (job) strata:http_requests:rate5m > 0.1 or vector(0) unless up offset 5m',
      ),
    ).toEqual(['strata:http_errors:ratio_rate5m', 'strata:http_requests:rate5m', 'up']);
    expect(metricNames('sum without (pod) (a_total) / ignoring (x) group_left (y) b_total')).toEqual([
      'a_total',
      'b_total',
    ]);
  });
});

describe('familyOf and exposedFamilies', () => {
  it('map histogram series to the family a /metrics page declares', () => {
    const families = exposedFamilies(
      '# HELP h_seconds x\n# TYPE h_seconds histogram\nh_seconds_bucket{le="1"} 0\n',
    );
    expect([...families]).toEqual([['h_seconds', 'histogram']]);
    const names = new Set(families.keys());
    expect(familyOf('h_seconds_bucket', names)).toBe('h_seconds');
    expect(familyOf('h_seconds', names)).toBe('h_seconds');
    expect(familyOf('other_bucket', names)).toBeUndefined();
  });
});
