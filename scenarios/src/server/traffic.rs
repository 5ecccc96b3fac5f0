//! Request statistics: each request's route template, counts by endpoint
//! and status, `Retry-After` values, and the rows of `requests.parquet`.

use std::collections::BTreeMap;
use std::sync::Arc;

use sim_core::SimTime;

use super::integrations::Caller;
/// The route template of a path, for request statistics: the server's own
/// route table ([`api_server::ROUTES`]) matched segment by segment, each
/// parameter written `{id}`; a path no route serves is kept as it is
/// (without its query).
pub fn endpoint(path: &str) -> String {
    let path = path.split('?').next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').collect();
    api_server::ROUTES
        .iter()
        .find(|r| {
            let template = r.path.split('/');
            template.clone().count() == segments.len()
                && template
                    .zip(&segments)
                    .all(|(t, s)| t == *s || (t.starts_with('{') && !s.is_empty()))
        })
        .map_or_else(
            || path.to_owned(),
            |r| {
                r.path
                    .split('/')
                    .map(|t| if t.starts_with('{') { "{id}" } else { t })
                    .collect::<Vec<_>>()
                    .join("/")
            },
        )
}

/// One request the server handled, for `requests.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRow {
    /// When it reached the server.
    pub arrival: SimTime,
    /// `home`, `integration` or `operations`.
    pub source: &'static str,
    /// The client: an integration's name, `operations`; `None` for a
    /// home's thermostat.
    pub client: Option<Arc<str>>,
    /// The client's rate-limit tier (`standard`, `enterprise`; `device` for
    /// thermostats).
    pub tier: &'static str,
    /// The home, for its own requests.
    pub home: Option<usize>,
    /// Method.
    pub method: &'static str,
    /// Route template.
    pub endpoint: Arc<str>,
    /// Status.
    pub status: u16,
    /// `Retry-After` [s] on a 429.
    pub retry_after_s: Option<u64>,
    /// Modelled one-way latencies [ms] (homes' requests).
    pub latency_ms: Option<(u64, u64)>,
}

/// Counts of one run, merged from every partition (sums: the order of
/// merging does not matter).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Requests by endpoint (route template) and status, in first-seen
    /// order; [`Stats::requests`] sorts them.
    pub(super) endpoints: Vec<(Arc<str>, StatusCounts)>,
    /// Requests lost in transit or cut off by outages.
    pub lost: u64,
    /// Retry-After values seen on 429s [s] → count.
    pub retry_after_s: BTreeMap<u64, u64>,
    /// Integration jobs skipped while rate-limited.
    pub integration_skipped: u64,
    /// Technician visits sent.
    pub visits: u64,
    /// Alerts resolved after visits.
    pub alerts_resolved: u64,
    /// Releases published.
    pub releases_published: u64,
    /// Automations created.
    pub automations_created: u64,
    /// Rows for `requests.parquet`, in handling order (drained by the runner).
    pub rows: Vec<RequestRow>,
    /// Paths seen → their index in `endpoints` (each template computed once).
    pub(super) routes: foldhash::HashMap<Box<str>, usize>,
    /// The index in `endpoints` of each of [`FIXED_PATHS`] once seen: the
    /// thermostats' own paths, found without hashing (most requests).
    pub(super) fixed: [Option<u32>; FIXED_PATHS.len()],
}

/// Paths without ids or queries that every thermostat calls, most often
/// first.
pub(super) const FIXED_PATHS: [&str; 8] = [
    "/v1/commands/pending",
    "/v1/diagnostics/vibration",
    "/v1/telemetry",
    "/v1/diagnostics/energy",
    "/v1/settings",
    "/v1/events",
    "/v1/auth/token",
    "/v1/commands/result",
];

impl Stats {
    /// Counts a request of an integration or the operations client.
    pub(super) fn count(
        &mut self,
        at: SimTime,
        caller: &Caller,
        method: &'static str,
        path: &str,
        status: u16,
        headers: &[(String, String)],
    ) {
        let row = RequestRow {
            arrival: at,
            source: caller.source,
            client: Some(caller.client.clone()),
            tier: caller.tier,
            home: None,
            method,
            endpoint: Arc::from(""),
            status,
            retry_after_s: None,
            latency_ms: None,
        };
        self.log(row, path, headers);
    }

    /// Counts a request and keeps its row (endpoint and Retry-After filled in).
    pub(super) fn log(&mut self, mut row: RequestRow, path: &str, headers: &[(String, String)]) {
        let index = match FIXED_PATHS.iter().position(|p| *p == path) {
            Some(k) => match self.fixed[k] {
                Some(i) => i as usize,
                None => {
                    let i = self.endpoint_index(&endpoint(path));
                    self.fixed[k] = Some(i as u32);
                    i
                }
            },
            None => self.route_index(path),
        };
        let (endpoint, by_status) = &mut self.endpoints[index];
        bump(by_status, row.status, 1);
        row.endpoint = endpoint.clone();
        if row.status == 429
            && let Some(s) = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                .and_then(|(_, v)| v.parse::<u64>().ok())
        {
            *self.retry_after_s.entry(s).or_default() += 1;
            row.retry_after_s = Some(s);
        }
        self.rows.push(row);
    }

    /// The index in `endpoints` of a path with ids or a query (its template
    /// computed once per path).
    pub(super) fn route_index(&mut self, path: &str) -> usize {
        if let Some(&i) = self.routes.get(path) {
            return i;
        }
        // Paths carry device and alert ids: bounded all the same.
        if self.routes.len() >= 100_000 {
            self.routes.clear();
        }
        let i = self.endpoint_index(&endpoint(path));
        self.routes.insert(path.into(), i);
        i
    }

    /// The index of `endpoint` in `endpoints`, added if new (a few dozen
    /// templates: a scan beats hashing).
    pub(super) fn endpoint_index(&mut self, endpoint: &str) -> usize {
        match self.endpoints.iter().position(|(e, _)| &**e == endpoint) {
            Some(i) => i,
            None => {
                self.endpoints.push((Arc::from(endpoint), Vec::new()));
                self.endpoints.len() - 1
            }
        }
    }

    /// Requests by endpoint and status.
    pub fn requests(&self) -> BTreeMap<Arc<str>, BTreeMap<u16, u64>> {
        let mut out: BTreeMap<Arc<str>, BTreeMap<u16, u64>> = BTreeMap::new();
        for (e, by) in &self.endpoints {
            let mine = out.entry(e.clone()).or_default();
            for &(s, n) in by {
                *mine.entry(s).or_default() += n;
            }
        }
        out
    }

    pub(crate) fn merge(&mut self, other: Stats) {
        for (e, by) in other.endpoints {
            let i = self.endpoint_index(&e);
            for (s, n) in by {
                bump(&mut self.endpoints[i].1, s, n);
            }
        }
        for (s, n) in other.retry_after_s {
            *self.retry_after_s.entry(s).or_default() += n;
        }
        self.lost += other.lost;
        self.integration_skipped += other.integration_skipped;
        self.visits += other.visits;
        self.alerts_resolved += other.alerts_resolved;
        self.releases_published += other.releases_published;
        self.automations_created += other.automations_created;
        self.rows.extend(other.rows);
    }

    /// Total requests with `status`.
    pub fn with_status(&self, status: u16) -> u64 {
        self.endpoints
            .iter()
            .flat_map(|(_, by)| by.iter().filter(|(s, _)| *s == status))
            .map(|(_, n)| n)
            .sum()
    }

    /// Total requests handled by the server.
    pub fn total(&self) -> u64 {
        self.endpoints
            .iter()
            .flat_map(|(_, by)| by.iter().map(|(_, n)| n))
            .sum()
    }
}

/// (status, count) pairs of one endpoint, in first-seen order.
pub(super) type StatusCounts = Vec<(u16, u64)>;

/// Adds `n` to `status`'s count in a short (status, count) list.
pub(super) fn bump(by_status: &mut Vec<(u16, u64)>, status: u16, n: u64) {
    match by_status.iter_mut().find(|(s, _)| *s == status) {
        Some((_, count)) => *count += n,
        None => by_status.push((status, n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller {
            source: "integration",
            client: Arc::from("acme"),
            tier: "standard",
        }
    }

    #[test]
    fn ids_and_queries_become_the_route_template() {
        assert_eq!(
            endpoint("/v1/thermostat/aurra_001/setpoint?x=1"),
            "/v1/thermostat/{id}/setpoint"
        );
        assert_eq!(
            endpoint("/v1/alerts/a-17/resolve"),
            "/v1/alerts/{id}/resolve"
        );
        assert_eq!(endpoint("/v1/ota/download/1.2.3"), "/v1/ota/download/{id}");
        assert_eq!(endpoint("/v1/telemetry"), "/v1/telemetry");
        assert_eq!(
            endpoint("/v1/thermostat/d1/schedule/sync"),
            "/v1/thermostat/{id}/schedule/sync"
        );
        // Every route of the table is its own template.
        for r in api_server::ROUTES {
            let concrete = r.path.replace('{', "x").replace('}', "");
            let expected = r
                .path
                .split('/')
                .map(|t| if t.starts_with('{') { "{id}" } else { t })
                .collect::<Vec<_>>()
                .join("/");
            assert_eq!(endpoint(&concrete), expected, "{}", r.path);
        }
        // The same templates as the segment heuristic this replaced (so
        // requests tables do not change).
        let heuristic = |path: &str| {
            let path = path.split('?').next().unwrap_or("");
            let mut out = Vec::new();
            let mut id_next = false;
            for seg in path.split('/') {
                if id_next {
                    out.push("{id}");
                    id_next = false;
                    continue;
                }
                id_next = matches!(
                    seg,
                    "thermostat"
                        | "hvac"
                        | "alerts"
                        | "webhooks"
                        | "automations"
                        | "download"
                        | "energy"
                        | "links"
                );
                out.push(seg);
            }
            out.join("/")
        };
        for r in api_server::ROUTES {
            let concrete = format!("{}?page=2", r.path.replace('{', "v").replace('}', ""));
            assert_eq!(endpoint(&concrete), heuristic(&concrete), "{}", r.path);
        }
        // A path no route serves stays as it is.
        assert_eq!(endpoint("/v2/nothing/here?q=1"), "/v2/nothing/here");
    }

    #[test]
    fn counts_by_template_and_status_keep_429s_retry_after_and_merge_as_sums() {
        let mut a = Stats::default();
        let t = SimTime::EPOCH;
        let retry = [("Retry-After".to_owned(), "57".to_owned())];
        a.count(t, &caller(), "GET", "/v1/thermostat/d1/status", 200, &[]);
        a.count(t, &caller(), "GET", "/v1/thermostat/d2/status", 429, &retry);
        a.count(t, &caller(), "POST", "/v1/telemetry", 201, &[]);
        assert_eq!(a.total(), 3);
        assert_eq!(a.with_status(429), 1);
        assert_eq!(a.retry_after_s.get(&57), Some(&1));
        assert_eq!(a.rows[1].retry_after_s, Some(57));
        assert_eq!(&*a.rows[0].endpoint, "/v1/thermostat/{id}/status");
        let mut b = Stats::default();
        b.count(t, &caller(), "GET", "/v1/thermostat/d3/status", 200, &[]);
        b.lost = 2;
        a.merge(b);
        let by = a.requests();
        let status = &by[&Arc::from("/v1/thermostat/{id}/status")];
        assert_eq!((status[&200], status[&429]), (2, 1));
        assert_eq!((a.total(), a.lost, a.rows.len()), (4, 2, 4));
    }
}
