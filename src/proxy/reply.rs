//! What the guard itself answers: MISP-style JSON, never plain text.
//!
//! MISP's sync code calls `->json()` on an error response inside its catch
//! block; a body that is not JSON throws again and aborts the whole job
//! instead of skipping one event. So every refusal looks like MISP's own
//! errors: `{"name": ..., "message": ..., "url": ...}`.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

pub type Body = Full<Bytes>;

/// An answer of the guard's own with a MISP-style JSON body.
pub fn json_error(status: StatusCode, message: &str, path: &str) -> Response<Body> {
    let name = status.canonical_reason().unwrap_or("Error");
    let body = serde_json::json!({ "name": name, "message": message, "url": path });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
