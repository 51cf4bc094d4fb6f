//! A small HTTP/1.1 load generator: one OS thread per keep-alive connection,
//! blocking `TcpStream`, hand-written request writing and response parsing.
//!
//! Why not a crate: the generator shares 2 cores with the server under test,
//! so it must be cheap and predictable. Requests are rendered up front; the
//! per-request work is one memcpy, a few 16-byte patches and one `write_all`.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Placeholder patched per request with a unique 16-hex-digit sequence so
/// that no two sent events share a `unique_id` (the server must not de-dup).
pub const SLOT_MARKER: &str = "################";
const SLOT_LEN: usize = SLOT_MARKER.len();
const IO_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_HEAD: usize = 64 * 1024;
const MAX_ERROR_SAMPLES: usize = 5;

/// A request body with the offsets of its unique-id slots.
#[derive(Debug, Clone)]
pub struct Body {
    bytes: Vec<u8>,
    slots: Vec<usize>,
    /// Events carried by this body (1 for M1a, 1,000 for M1b).
    pub events: u64,
}

impl Body {
    pub fn new(json: String, events: u64) -> Self {
        let bytes = json.into_bytes();
        let slots = find_all(&bytes, SLOT_MARKER.as_bytes());
        Self { bytes, slots, events }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }
}

/// A complete request (head + body) for one target, ready to write.
#[derive(Debug)]
pub struct Prepared {
    bytes: Vec<u8>,
    slots: Vec<usize>,
    events: u64,
}

/// Renders the full request bytes once per target (the API key differs per
/// wharf instance, so heads cannot be shared across runs).
pub fn prepare(bodies: &[Body], path: &str, addr: SocketAddr, headers: &[(&str, &str)]) -> Arc<Vec<Prepared>> {
    let reqs = bodies
        .iter()
        .map(|b| {
            let mut head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\n");
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str(&format!("Content-Length: {}\r\n\r\n", b.bytes.len()));
            let mut bytes = head.into_bytes();
            let off = bytes.len();
            bytes.extend_from_slice(&b.bytes);
            Prepared { bytes, slots: b.slots.iter().map(|s| s + off).collect(), events: b.events }
        })
        .collect();
    Arc::new(reqs)
}

/// Closed loop (each connection sends as soon as its previous response is in)
/// or paced at a fixed total request rate.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    Closed,
    /// Total requests per second across all connections. Latency is measured
    /// from the *scheduled* send time, so a stalled server is not hidden by
    /// the generator waiting for it (coordinated omission).
    Rate(f64),
}

#[derive(Debug, Clone, Copy)]
pub struct RunSpec {
    pub addr: SocketAddr,
    pub conns: usize,
    pub duration: Duration,
    pub pace: Pace,
    /// Distinguishes runs against the same server in the unique-id sequence.
    pub phase: u8,
}

#[derive(Debug, Default)]
pub struct RunStats {
    pub ok_requests: u64,
    pub ok_events: u64,
    /// Error class ("HTTP 500", "io: connection reset", ...) -> count.
    pub errors: BTreeMap<String, u64>,
    /// A few non-2xx responses with their (truncated) bodies.
    pub error_samples: Vec<String>,
    /// Successful request latencies in microseconds, sorted. Paced runs
    /// measure from the scheduled send time.
    pub latencies_us: Vec<u32>,
    /// Paced runs: latency from the actual send (excludes generator lag), sorted.
    pub service_us: Vec<u32>,
    /// Paced runs: sends that were already > 1 ms behind schedule because
    /// the connection was still waiting for an earlier (slow) response.
    pub late_sends: u64,
    /// Paced runs: how late the generator woke from sleeping to send (us),
    /// sorted. This is the generator's own VM/scheduler jitter, not the server's.
    pub send_lag_us: Vec<u32>,
    pub elapsed: Duration,
}

impl RunStats {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Latency percentile in milliseconds (`q` in 0..=1).
    pub fn pct_ms(&self, q: f64) -> f64 {
        pct_ms(&self.latencies_us, q)
    }

    /// Latency from actual send, in milliseconds (paced runs only).
    pub fn service_pct_ms(&self, q: f64) -> f64 {
        pct_ms(&self.service_us, q)
    }

    /// Send-lag percentile in milliseconds (paced runs only).
    pub fn lag_pct_ms(&self, q: f64) -> f64 {
        pct_ms(&self.send_lag_us, q)
    }

    pub fn req_per_s(&self) -> f64 {
        self.ok_requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn events_per_s(&self) -> f64 {
        self.ok_events as f64 / self.elapsed.as_secs_f64()
    }

    fn merge(&mut self, w: RunStats) {
        self.ok_requests += w.ok_requests;
        self.ok_events += w.ok_events;
        self.late_sends += w.late_sends;
        for (k, v) in w.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for s in w.error_samples {
            if self.error_samples.len() < MAX_ERROR_SAMPLES && !self.error_samples.contains(&s) {
                self.error_samples.push(s);
            }
        }
        self.latencies_us.extend(w.latencies_us);
        self.send_lag_us.extend(w.send_lag_us);
        self.service_us.extend(w.service_us);
    }
}

/// Runs the load and returns merged statistics. `elapsed` spans from start to
/// the last worker finishing its in-flight request, so throughput is not
/// inflated by requests that complete after the nominal deadline.
pub fn run(spec: RunSpec, reqs: &Arc<Vec<Prepared>>) -> Result<RunStats> {
    if reqs.is_empty() {
        bail!("no requests prepared");
    }
    let start = Instant::now();
    let deadline = start + spec.duration;
    let handles: Vec<_> = (0..spec.conns)
        .map(|id| {
            let reqs = Arc::clone(reqs);
            std::thread::Builder::new()
                .name(format!("loadgen-{id}"))
                .spawn(move || worker(id, spec, &reqs, start, deadline))
                .context("spawn load thread")
        })
        .collect::<Result<_>>()?;
    let mut total = RunStats::default();
    for h in handles {
        let w = h.join().map_err(|_| anyhow::anyhow!("load thread panicked"))?;
        total.merge(w);
    }
    total.elapsed = start.elapsed();
    total.latencies_us.sort_unstable();
    total.send_lag_us.sort_unstable();
    total.service_us.sort_unstable();
    Ok(total)
}

fn worker(id: usize, spec: RunSpec, reqs: &[Prepared], start: Instant, deadline: Instant) -> RunStats {
    let mut st = RunStats::default();
    let mut conn: Option<Conn> = None;
    let mut scratch = Vec::new();
    let mut counter: u64 = 0;
    // Different starting points so connections do not send identical bodies in lockstep.
    let mut idx = id.wrapping_mul(7919) % reqs.len();
    let interval = match spec.pace {
        Pace::Closed => None,
        Pace::Rate(r) => Some(Duration::from_secs_f64(spec.conns as f64 / r.max(1e-3))),
    };
    // Stagger paced connections evenly across one interval.
    let mut next_send = start + interval.unwrap_or_default().mul_f64(id as f64 / spec.conns as f64);

    loop {
        let intended = match interval {
            None => {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                now
            }
            Some(iv) => {
                if next_send >= deadline {
                    break;
                }
                let now = Instant::now();
                if next_send > now {
                    std::thread::sleep(next_send - now);
                    st.send_lag_us.push(as_us(next_send.elapsed()));
                } else if now - next_send > Duration::from_millis(1) {
                    st.late_sends += 1;
                }
                let t = next_send;
                next_send += iv;
                t
            }
        };

        let req = &reqs[idx];
        idx = (idx + 1) % reqs.len();
        scratch.clear();
        scratch.extend_from_slice(&req.bytes);
        let seq = (u64::from(spec.phase) << 56) | ((id as u64) << 40) | counter;
        counter += 1;
        for &s in &req.slots {
            write_hex(&mut scratch[s..s + SLOT_LEN], seq);
        }

        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Conn::connect(spec.addr) {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    *st.errors.entry(format!("connect: {}", e.kind())).or_default() += 1;
                    // Back off so a dead server does not turn into a busy loop.
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            },
        };
        let sent = Instant::now();
        match c.roundtrip(&scratch) {
            Ok(resp) => {
                if (200..300).contains(&resp.status) {
                    st.ok_requests += 1;
                    st.ok_events += req.events;
                    st.latencies_us.push(as_us(intended.elapsed()));
                    if interval.is_some() {
                        st.service_us.push(as_us(sent.elapsed()));
                    }
                } else {
                    *st.errors.entry(format!("HTTP {}", resp.status)).or_default() += 1;
                    if st.error_samples.len() < MAX_ERROR_SAMPLES {
                        let body = String::from_utf8_lossy(&resp.body);
                        let body: String = body.chars().take(400).collect();
                        let s = format!("HTTP {}: {body}", resp.status);
                        if !st.error_samples.contains(&s) {
                            st.error_samples.push(s);
                        }
                    }
                }
                if resp.close {
                    conn = None;
                }
            }
            Err(e) => {
                *st.errors.entry(format!("io: {}", e.kind())).or_default() += 1;
                conn = None;
            }
        }
    }
    st
}

fn as_us(d: Duration) -> u32 {
    d.as_micros().min(u128::from(u32::MAX)) as u32
}

fn pct_ms(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted_us.len() as f64 - 1.0) * q).round() as usize;
    f64::from(sorted_us[i]) / 1000.0
}

fn write_hex(dst: &mut [u8], v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in dst.iter_mut().rev().enumerate() {
        *b = HEX[((v >> (4 * i)) & 0xf) as usize];
    }
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = find(&hay[i..], needle) {
        out.push(i + p);
        i += p + needle.len();
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One-shot GET on a fresh connection (readiness probes).
pub fn get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<(u16, Vec<u8>)> {
    request(addr, "GET", path, &[], b"", timeout)
}

/// One request on a fresh connection (management API calls, marker events): not for load.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<(u16, Vec<u8>)> {
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    let mut c = Conn::from_stream(stream, timeout)?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    let r = c.roundtrip(&bytes)?;
    Ok((r.status, r.body))
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// The server will close (or closed) the connection after this response.
    pub close: bool,
}

/// A keep-alive connection with its own read buffer. Responses may arrive in
/// arbitrary fragments; every parse step refills until it has what it needs.
#[derive(Debug)]
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
}

impl Conn {
    fn connect(addr: SocketAddr) -> io::Result<Self> {
        let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
        Self::from_stream(s, IO_TIMEOUT)
    }

    fn from_stream(s: TcpStream, timeout: Duration) -> io::Result<Self> {
        // Requests are written in one call; Nagle would only add delay.
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        Ok(Self { s, buf: vec![0; 16 * 1024], pos: 0, end: 0 })
    }

    fn roundtrip(&mut self, req: &[u8]) -> io::Result<Response> {
        self.s.write_all(req)?;
        self.read_response()
    }

    /// Reads more bytes into the buffer; `Ok(0)` means EOF.
    fn fill(&mut self) -> io::Result<usize> {
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
            if self.end == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let n = loop {
            match self.s.read(&mut self.buf[self.end..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        self.end += n;
        Ok(n)
    }

    fn fill_some(&mut self) -> io::Result<()> {
        match self.fill()? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            _ => Ok(()),
        }
    }

    /// Returns the next CRLF-terminated line (without CRLF) and consumes it.
    fn read_line(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if let Some(i) = find(&self.buf[self.pos..self.end], b"\r\n") {
                let line = self.buf[self.pos..self.pos + i].to_vec();
                self.pos += i + 2;
                return Ok(line);
            }
            if self.end - self.pos > MAX_HEAD {
                return Err(bad("line too long"));
            }
            self.fill_some()?;
        }
    }

    /// Consumes exactly `n` body bytes, appending them to `out`.
    fn take(&mut self, mut n: usize, out: &mut Vec<u8>) -> io::Result<()> {
        while n > 0 {
            if self.pos == self.end {
                self.fill_some()?;
            }
            let k = n.min(self.end - self.pos);
            out.extend_from_slice(&self.buf[self.pos..self.pos + k]);
            self.pos += k;
            n -= k;
        }
        Ok(())
    }

    fn read_response(&mut self) -> io::Result<Response> {
        loop {
            let head_end = loop {
                if let Some(i) = find(&self.buf[self.pos..self.end], b"\r\n\r\n") {
                    break self.pos + i;
                }
                if self.end - self.pos > MAX_HEAD {
                    return Err(bad("response head too large"));
                }
                self.fill_some()?;
            };
            let head = parse_head(&self.buf[self.pos..head_end])?;
            self.pos = head_end + 4;

            // Interim responses (100 Continue etc.) precede the real one.
            if (100..200).contains(&head.status) {
                continue;
            }
            let mut body = Vec::new();
            let mut close = head.close;
            if head.status == 204 || head.status == 304 {
                // No body by definition.
            } else if head.chunked {
                self.read_chunked(&mut body)?;
            } else if let Some(n) = head.content_length {
                self.take(n, &mut body)?;
            } else {
                // Body delimited by connection close.
                loop {
                    body.extend_from_slice(&self.buf[self.pos..self.end]);
                    self.pos = self.end;
                    if self.fill()? == 0 {
                        break;
                    }
                }
                close = true;
            }
            return Ok(Response { status: head.status, body, close });
        }
    }

    fn read_chunked(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        loop {
            let line = self.read_line()?;
            let size_hex = line.split(|&b| b == b';').next().unwrap_or_default();
            let size_hex = std::str::from_utf8(size_hex).map_err(|_| bad("chunk size"))?.trim();
            let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad("chunk size"))?;
            if size == 0 {
                // Trailers, then the empty line ending the message.
                while !self.read_line()?.is_empty() {}
                return Ok(());
            }
            self.take(size, out)?;
            if !self.read_line()?.is_empty() {
                return Err(bad("missing CRLF after chunk"));
            }
        }
    }
}

#[derive(Debug)]
struct Head {
    status: u16,
    content_length: Option<usize>,
    chunked: bool,
    close: bool,
}

fn parse_head(raw: &[u8]) -> io::Result<Head> {
    let text = std::str::from_utf8(raw).map_err(|_| bad("non-UTF-8 head"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(bad("not an HTTP/1.x response"));
    }
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad status code"))?;
    let mut h = Head {
        status,
        content_length: None,
        chunked: false,
        // HTTP/1.0 closes unless told otherwise.
        close: version == "HTTP/1.0",
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            h.content_length = Some(value.parse().map_err(|_| bad("content-length"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            h.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                h.close = true;
            } else if v.contains("keep-alive") {
                h.close = false;
            }
        }
    }
    Ok(h)
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Serves `chunks` with pauses so the client sees partial reads.
    fn serve_fragments(chunks: Vec<&'static [u8]>) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).unwrap();
            s.set_nodelay(true).unwrap();
            for c in chunks {
                s.write_all(c).unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        addr
    }

    #[test]
    fn fragmented_chunked_then_keepalive() {
        let addr = serve_fragments(vec![
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad",
            b" Request\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
            b"lo\r\n6;x=y\r\n world\r\n0\r\n\r\nHTTP/1.1 202 Accepted\r\ncontent-length: 3\r\n\r\nab",
            b"c",
        ]);
        let mut c = Conn::connect(addr).unwrap();
        let r = c.roundtrip(b"POST / HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!((r.status, r.body.as_slice(), r.close), (400, &b"hello world"[..], false));
        let r = c.read_response().unwrap();
        assert_eq!((r.status, r.body.as_slice()), (202, &b"abc"[..]));
    }

    #[test]
    fn body_until_close() {
        let addr = serve_fragments(vec![b"HTTP/1.0 200 OK\r\n\r\nfoo", b"bar"]);
        let (status, body) = get(addr, "/", Duration::from_secs(5)).unwrap();
        assert_eq!((status, body.as_slice()), (200, &b"foobar"[..]));
    }

    #[test]
    fn truncated_response_is_an_error() {
        let addr = serve_fragments(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"]);
        assert!(get(addr, "/", Duration::from_secs(5)).is_err());
    }

    #[test]
    fn slots_are_patched() {
        let b = Body::new(format!("{{\"a\":\"x-{SLOT_MARKER}\",\"b\":\"{SLOT_MARKER}\"}}"), 2);
        assert_eq!(b.slot_count(), 2);
        let mut v = b.bytes.clone();
        write_hex(&mut v[b.slots[1]..b.slots[1] + SLOT_LEN], 0xabc);
        assert!(String::from_utf8(v).unwrap().ends_with("\"0000000000000abc\"}"));
    }
}
