//! A small blocking HTTP/1.1 client for the management API (`/v1`) of a running `wharf serve`.
//!
//! The server is local (or behind a proxy that speaks plain HTTP to it), so this is one request
//! per connection over a `TcpStream`, `Connection: close`, no TLS, no keep-alive. Answers are
//! JSON; an error answer (`{"errors": [{"status", "code", "title", "detail"}]}`) becomes one
//! readable line.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde_json::Value;

/// Where the server is and how to authenticate to it.
#[derive(Clone, Debug)]
pub struct Client {
    /// What the user gave, for messages.
    url: String,
    host: String,
    port: u16,
    /// Path prefix when the server sits under one (`http://proxy/wharf`), without a trailing `/`.
    base: String,
    key: String,
    timeout: Duration,
}

/// A raw answer.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Client {
    /// `server` is `http://host:port[/prefix]`; `key` a private API key.
    pub fn new(server: &str, key: &str) -> anyhow::Result<Client> {
        let url = server.trim().trim_end_matches('/');
        let rest = if let Some(rest) = url.strip_prefix("http://") {
            rest
        } else if url.starts_with("https://") {
            bail!("--server {url}: the CLI speaks plain HTTP to a local server; use http://");
        } else if url.contains("://") {
            bail!("--server {url}: expected an http:// URL");
        } else {
            url
        };
        let (authority, base) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/').to_string()),
            None => (rest, String::new()),
        };
        let (host, port) = split_host_port(authority).with_context(|| format!("--server {url}"))?;
        if key.trim().is_empty() {
            bail!("an API key is required: pass --api-key or set WHARF_API_KEY");
        }
        Ok(Client {
            url: format!("http://{authority}{base}"),
            host,
            port,
            base,
            key: key.trim().to_string(),
            timeout: Duration::from_secs(180),
        })
    }

    /// Sends one request and returns the answer whatever its status.
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Response> {
        let mut stream = self.connect()?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let mut request = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {host}:{}\r\nAuthorization: Klaviyo-API-Key {}\r\n\
             Accept: application/json\r\nUser-Agent: wharf-cli/{}\r\nConnection: close\r\n",
            self.base,
            self.port,
            self.key,
            env!("CARGO_PKG_VERSION"),
        );
        if !body.is_empty() || matches!(method, "POST" | "PUT") {
            request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        stream.write_all(request.as_bytes()).with_context(|| format!("sending {method} {path} to {}", self.url))?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                anyhow!("{method} {path}: the server at {} did not answer within {:?}", self.url, self.timeout)
            }
            _ => anyhow!("{method} {path}: reading the answer from {}: {e}", self.url),
        })?;
        parse_response(&raw).with_context(|| format!("{method} {path}: unreadable answer from {}", self.url))
    }

    /// Sends one request; a 2xx gives its JSON body (`Null` when empty), anything else an
    /// error of one line.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let response = self.send(method, path, body)?;
        if !(200..300).contains(&response.status) {
            bail!("{}", error_line(response.status, &response.body));
        }
        if response.body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&response.body)
            .with_context(|| format!("{method} {path}: the server's answer is not JSON: {}", clip(&response.body)))
    }

    fn connect(&self) -> anyhow::Result<TcpStream> {
        let unreachable = |e: &dyn std::fmt::Display| {
            anyhow!(
                "cannot reach the Wharf server at {}: {e} (is `wharf serve` running? set --server or WHARF_SERVER)",
                self.url
            )
        };
        let addrs = (self.host.as_str(), self.port).to_socket_addrs().map_err(|e| unreachable(&e))?;
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(10)) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) => unreachable(&e),
            None => unreachable(&"no address"),
        })
    }
}

fn split_host_port(authority: &str) -> anyhow::Result<(String, u16)> {
    if authority.is_empty() {
        bail!("no host");
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| anyhow!("unclosed '[' in the host"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| anyhow!("'{p}' is not a port"))?,
        None => 80,
    };
    Ok((host.to_string(), port))
}

fn parse_response(raw: &[u8]) -> anyhow::Result<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| anyhow!("no complete header"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut payload = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("bad status line '{status_line}'"))?;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if name.eq_ignore_ascii_case("content-length")
            && let Ok(n) = value.parse::<usize>()
        {
            payload = &payload[..n.min(payload.len())];
        }
    }
    let body = if chunked { dechunk(payload)? } else { payload.to_vec() };
    Ok(Response { status, body: String::from_utf8_lossy(&body).into_owned() })
}

fn dechunk(mut data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n").ok_or_else(|| anyhow!("truncated chunk"))?;
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| anyhow!("bad chunk size '{size_text}'"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            bail!("truncated chunk");
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
}

fn clip(text: &str) -> String {
    let t = text.trim();
    if t.chars().count() > 200 { format!("{}…", t.chars().take(200).collect::<String>()) } else { t.to_string() }
}

/// One line out of an error answer: the details of its errors, then the status and code.
pub fn error_line(status: u16, body: &str) -> String {
    let doc: Option<Value> = serde_json::from_str(body).ok();
    let errors = doc.as_ref().and_then(|d| d["errors"].as_array()).filter(|e| !e.is_empty());
    match errors {
        Some(errors) => {
            let details: Vec<String> = errors
                .iter()
                .map(|e| {
                    let detail = e["detail"].as_str().or(e["title"].as_str()).unwrap_or("error");
                    match e["source"]["pointer"].as_str().or(e["source"]["parameter"].as_str()) {
                        Some(at) if !at.is_empty() && at != "/" && !detail.contains(at) => {
                            format!("{detail} (at {at})")
                        }
                        _ => detail.to_string(),
                    }
                })
                .collect();
            let code = errors[0]["code"].as_str().unwrap_or("error");
            format!("{} [HTTP {status} {code}]", details.join("; "))
        }
        None if body.trim().is_empty() => format!("the server answered HTTP {status}"),
        None => format!("the server answered HTTP {status}: {}", clip(body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c = Client::new("http://127.0.0.1:8080/", "pk_x").unwrap();
        assert_eq!((c.host.as_str(), c.port, c.base.as_str()), ("127.0.0.1", 8080, ""));
        let c = Client::new("localhost:9000/wharf/", "pk_x").unwrap();
        assert_eq!((c.host.as_str(), c.port, c.base.as_str()), ("localhost", 9000, "/wharf"));
        let c = Client::new("http://[::1]:81", "pk_x").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("::1", 81));
        assert_eq!(Client::new("http://example.org", "k").unwrap().port, 80);
        assert!(Client::new("https://example.org", "k").is_err());
        assert!(Client::new("http://h:port", "k").is_err());
        assert!(Client::new("http://h:1", " ").is_err());
    }

    #[test]
    fn responses_with_length_or_chunks() {
        let r = parse_response(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}junk").unwrap();
        assert_eq!((r.status, r.body.as_str()), (201, "{}"));
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.body, "{\"a\":1}");
        let r = parse_response(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        assert_eq!((r.status, r.body.as_str()), (204, ""));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
    }

    #[test]
    fn error_lines() {
        let body = r#"{"errors":[{"status":409,"code":"conflict","title":"Conflict.","detail":"a completed historical sync cannot be paused"}]}"#;
        assert_eq!(error_line(409, body), "a completed historical sync cannot be paused [HTTP 409 conflict]");
        let body = r#"{"errors":[{"code":"invalid","detail":"unknown range 'x'","source":{"pointer":"/options/historical_range"}}]}"#;
        assert_eq!(error_line(400, body), "unknown range 'x' (at /options/historical_range) [HTTP 400 invalid]");
        assert_eq!(error_line(502, "Bad Gateway"), "the server answered HTTP 502: Bad Gateway");
        assert_eq!(error_line(500, ""), "the server answered HTTP 500");
    }
}
