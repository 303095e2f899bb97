//! `patchdeck dev`: tools for trying patchdeck without a real fleet (hidden). Today one:
//! `dev fake-ssm`, a fake AWS Systems Manager account on loopback that moves on its own
//! (one step of its commands and a minute of its clock every `--step-ms`), for
//! `patchdeck --backend aws-ssm` or `serve --backend aws-ssm` to be pointed at.

use std::net::SocketAddr;
use std::time::Duration;

use crate::backend::aws_ssm::fake::{DemoStory, FAKE_ACCESS_KEY, FAKE_REGION, FakeSsm, demo_fleet};

#[derive(clap::Args, Debug)]
pub struct DevArgs {
    #[command(subcommand)]
    pub command: DevCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum DevCommand {
    /// A fake SSM account on loopback (prints its URL and how to point patchdeck at it).
    FakeSsm(FakeSsmArgs),
}

/// The fake account's story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FakeStory {
    /// Every install succeeds.
    #[default]
    Calm,
    /// The update fails with 0x800f0922 on every fourth instance after Test.
    BadPatch,
}

#[derive(clap::Args, Debug)]
pub struct FakeSsmArgs {
    /// Where to listen (loopback; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Managed instances in the fake account.
    #[arg(long, default_value_t = 40)]
    pub instances: usize,
    #[arg(long, value_enum, default_value_t = FakeStory::BadPatch)]
    pub story: FakeStory,
    /// Real milliseconds between two steps of the fake (each moves its clock a minute).
    #[arg(long, default_value_t = 1000)]
    pub step_ms: u64,
}

/// Runs `dev fake-ssm` until Ctrl-C.
pub async fn run(args: DevArgs) -> color_eyre::Result<()> {
    let DevCommand::FakeSsm(args) = args.command;
    if !args.listen.ip().is_loopback() {
        color_eyre::eyre::bail!("the fake SSM listens on loopback only, not {}", args.listen);
    }
    let story = match args.story {
        FakeStory::Calm => DemoStory::Calm,
        FakeStory::BadPatch => DemoStory::BadPatch,
    };
    let now = chrono::Utc::now().timestamp() as f64;
    let fake = FakeSsm::start_on(args.listen, demo_fleet(now, args.instances, story)).await?;
    println!("fake SSM at {}", fake.url());
    println!(
        "try: AWS_ACCESS_KEY_ID={FAKE_ACCESS_KEY} AWS_SECRET_ACCESS_KEY=fake AWS_ENDPOINT_URL_SSM={} patchdeck --backend aws-ssm --region {FAKE_REGION}",
        fake.url()
    );
    println!("press Ctrl-C to stop");
    let mut every = tokio::time::interval(Duration::from_millis(args.step_ms.max(10)));
    loop {
        tokio::select! {
            _ = every.tick() => {
                let mut fleet = fake.fleet();
                fleet.advance(60.0);
                fleet.step();
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
