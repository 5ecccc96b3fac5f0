//! What the firmware sends and receives: HTTP requests and responses as plain
//! data. The driver (the simulator's transport, or a real HTTP client on a
//! device) moves them; the firmware never touches a socket.

/// Identifies one request so its response can be matched to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PATCH.
    Patch,
}

impl Method {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}

/// Which API a request is for: the device API (ClimaSense, authenticated
/// with the device's API key) or the AURRA integration API (OAuth bearer
/// token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// ClimaSense device API.
    Device,
    /// AURRA integration API.
    Aurra,
}

/// An outgoing request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Matches the response.
    pub id: RequestId,
    /// Which API.
    pub api: Api,
    /// Method.
    pub method: Method,
    /// Path and query, e.g. `/v1/ota/check?current_version=1.2.3`.
    pub path: String,
    /// Header fields (`Authorization`, `Content-Type`, …).
    pub headers: Vec<(String, String)>,
    /// JSON body, if any.
    pub body: Option<Vec<u8>>,
}

impl Request {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response, as the driver delivers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header fields.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }

    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `Retry-After` in whole seconds, if present and numeric.
    pub fn retry_after_s(&self) -> Option<u64> {
        self.header("retry-after")?.trim().parse().ok()
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}
