//! `wharf demo` (filled in below).

use std::net::SocketAddr;

use crate::config::Config;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "WHARF_HTTP")]
    pub http: Option<SocketAddr>,
}

pub async fn run(_config: Config, _args: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
