#!/usr/bin/python3
"""End-to-end test of the examples binary's /metrics: traffic over loopback, then a scrape
parsed with prometheus_client's parser (Debian python3-prometheus-client).

usage: metrics_e2e_test.py PATH/TO/vial-examples [unittest args]
"""

import os
import sys
import unittest

from prometheus_client.parser import text_string_to_metric_families

from process import ExamplesCase, ExamplesServer


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(family, **labels):
    """The value of the one sample of `family` whose labels include `labels`."""
    found = [s.value for s in family.samples
             if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (family.name, labels, family.samples)
    return found[0]


class MetricsTest(ExamplesCase):
    tmp_prefix = "vial-metrics-"

    def test_scrape_after_traffic_parses_and_counts_by_rule(self):
        get = self.server.get
        for _ in range(5):
            self.assertEqual(get("/hello").status_code, 200)
        for n in (1, 2, 3):
            get(f"/users/{n}")  # 404 or 200: one rule either way
        self.assertEqual(get("/nowhere/at/all").status_code, 404)
        self.assertEqual(get("/fanout?n=3&ms=10").status_code, 200)
        self.assertEqual(get("/data?ms=10").status_code, 200)  # an event-loop coroutine

        index = get("/").text
        self.assertIn('href="/metrics"', index)

        r = get("/metrics")
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        f = families(r.text)

        requests = f["vial_http_requests"]
        self.assertEqual(requests.type, "counter")
        self.assertEqual(value(requests, route="/hello", method="GET", status="200"), 5)
        by_users_rule = [s for s in requests.samples if s.labels["route"].startswith("/users/<")]
        self.assertEqual(sum(s.value for s in by_users_rule), 3)
        self.assertEqual(value(requests, route="<unmatched>", method="GET", status="404"), 1)
        self.assertEqual(value(requests, route="/data", method="GET", status="200"), 1)
        routes = {s.labels["route"] for s in requests.samples}
        self.assertNotIn("/nowhere/at/all", routes)
        self.assertFalse(any(r.startswith("/users/1") for r in routes))

        duration = f["vial_http_request_duration_seconds"]
        self.assertEqual(duration.type, "histogram")
        hello = [s for s in duration.samples if s.labels.get("route") == "/hello"]
        buckets = [s for s in hello if s.name.endswith("_bucket")]
        counts = [s.value for s in buckets]
        self.assertEqual(counts, sorted(counts))  # cumulative
        self.assertEqual(buckets[-1].labels["le"], "+Inf")
        self.assertEqual(buckets[-1].value, 5)
        self.assertEqual([s.value for s in hello if s.name.endswith("_count")][0], 5)
        self.assertGreater([s.value for s in hello if s.name.endswith("_sum")][0], 0)

        self.assertEqual(f["vial_http_requests_in_flight"].samples[0].value, 1)  # the scrape
        self.assertGreaterEqual(f["vial_dispatch_workers"].samples[0].value, 1)
        for name in ("vial_dispatch_workers_busy", "vial_dispatch_queue_depth",
                     "vial_event_loop_requests_in_flight", "vial_server_connections",
                     "vial_blocking_pool_queue_depth", "vial_blocking_pool_busy_threads"):
            self.assertEqual(f[name].type, "gauge", name)
        refused = f["vial_server_refused"]
        self.assertEqual(value(refused, reason="dispatch_queue_full"), 0)
        self.assertEqual(value(refused, reason="event_loop_full"), 0)
        self.assertEqual(f["vial_blocking_pool_overloads"].samples[0].value, 0)
        self.assertIn("vial_bridge_leftovers_cancelled", f)
        # The process's memory, from the server that trims it (under a sanitizer malloc's
        # figures are not glibc's, so only resident memory is sure to be above zero).
        self.assertGreater(f["vial_process_resident_bytes"].samples[0].value, 0)
        for name in ("vial_malloc_in_use_bytes", "vial_malloc_free_bytes"):
            self.assertEqual(f[name].type, "gauge", name)
        self.assertEqual(f["vial_memory_trims"].type, "counter")
        self.assertEqual(f["vial_memory_trim_duration_seconds"].type, "histogram")
        jobs = f["vial_background_jobs"]
        self.assertEqual({s.labels["state"] for s in jobs.samples}, {"queued", "running"})
        finished = f["vial_background_jobs_finished"]
        self.assertEqual({s.labels["state"] for s in finished.samples},
                         {"done", "failed", "abandoned"})

        # The fan-out went through the examples' HTTP client: 3 calls, on pooled connections.
        client_requests = value(f["vial_http_client_requests"], client="fanout")
        self.assertGreaterEqual(client_requests, 3)
        self.assertGreaterEqual(value(f["vial_http_client_connections_opened"], client="fanout"), 1)
        self.assertEqual(value(f["vial_http_client_errors"], client="fanout"), 0)
        self.assertGreaterEqual(value(f["vial_http_client_connections_idle"], client="fanout"), 1)
        self.assertIn("vial_http_client_reused", f)

        # A second scrape counts the first one under its own rule.
        again = families(get("/metrics").text)
        self.assertEqual(value(again["vial_http_requests"], route="/metrics", method="GET",
                               status="200"), 1)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    ExamplesServer.binary = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
