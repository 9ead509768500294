//! The benchmark (`make bench-chat`): to be written.

#[derive(clap::Args)]
pub struct Options {}

pub fn run(_options: &Options) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
