//! `patchdeck dev`: tools for trying patchdeck without a real fleet (hidden). Today one:
//! `dev fake-ssm`, a fake AWS Systems Manager account on loopback that moves on its own
//! (one step of its commands and a minute of its clock every `--step-ms`), for
//! `patchdeck --backend aws-ssm` or `serve --backend aws-ssm` to be pointed at.

use std::net::SocketAddr;
use std::time::Duration;

use crate::backend::aws_ssm::fake::{
    DEMO_GROUPS, DemoStory, FAKE_ACCESS_KEY, FAKE_REGION, FakeSsm, demo_fleet,
};

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
    /// After this many real seconds, throttle every read (ThrottlingException) until
    /// stopped: the console then shows its data as old ("as of 40s ago").
    #[arg(long, value_name = "SECS")]
    pub throttle_after: Option<u64>,
}

/// Calls of each read throttled by `--throttle-after` (at a few calls a second, more
/// than an hour of them).
const THROTTLED_CALLS: usize = 20_000;

/// The operations of the read path, throttled by `--throttle-after`.
const READS: [&str; 8] = [
    "DescribeInstanceInformation",
    "DescribeInstancePatchStates",
    "DescribeInstancePatches",
    "DescribePatchGroups",
    "ListCommands",
    "ListCommandInvocations",
    "DescribeMaintenanceWindows",
    "DescribeMaintenanceWindowTargets",
];

/// The rollout settings that suit the demo account: its groups in order, Production
/// behind the two-person rule, a short soak (an SSM fleet runs on the wall clock).
pub fn demo_settings() -> String {
    let order: Vec<String> = DEMO_GROUPS.iter().map(|g| format!("{g:?}")).collect();
    format!(
        "# patchdeck rollout settings for the fake SSM account (dev fake-ssm)\n\
         ring_order = [{}]\n\
         production = [\"Production\"]\n\
         max_concurrency = \"25%\"\n\
         max_errors = \"2\"\n\
         gate_success_pct = 90\n\
         soak_minutes = 1\n\
         poll_in_flight_secs = 2\n\
         poll_sweep_secs = 30\n",
        order.join(", ")
    )
}

/// An SSM call that only reads (`Describe…`, `List…`, `Get…`).
fn is_read(operation: &str) -> bool {
    ["Describe", "List", "Get"]
        .iter()
        .any(|verb| operation.starts_with(verb))
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
    let settings =
        std::env::temp_dir().join(format!("patchdeck-fake-ssm-{}.toml", fake.addr().port()));
    std::fs::write(&settings, demo_settings())?;
    println!("fake SSM at {}", fake.url());
    println!("rollout settings for it in {}", settings.display());
    println!(
        "try: AWS_ACCESS_KEY_ID={FAKE_ACCESS_KEY} AWS_SECRET_ACCESS_KEY=fake AWS_ENDPOINT_URL_SSM={} patchdeck --backend aws-ssm --region {FAKE_REGION} --aws-ssm-settings {}",
        fake.url(),
        settings.display()
    );
    println!("press Ctrl-C to stop");
    let mut every = tokio::time::interval(Duration::from_millis(args.step_ms.max(10)));
    let mut seen = 0;
    let throttle_at = args
        .throttle_after
        .map(|secs| std::time::Instant::now() + Duration::from_secs(secs));
    let mut throttling = false;
    loop {
        tokio::select! {
            _ = every.tick() => {
                if !throttling && throttle_at.is_some_and(|at| std::time::Instant::now() >= at) {
                    throttling = true;
                    for operation in READS {
                        fake.throttle_next(operation, THROTTLED_CALLS);
                    }
                    println!("throttling every read from now on");
                }
                {
                    let mut fleet = fake.fleet();
                    fleet.advance(60.0);
                    fleet.step();
                }
                // Say every call that changes the account, as it arrives.
                let requests = fake.requests();
                for request in requests.iter().skip(seen) {
                    if !is_read(&request.operation) {
                        println!("{} {} -> {}", request.operation, request.body, request.status);
                    }
                }
                seen = requests.len();
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_settings_are_settings_the_backend_reads() {
        let settings: crate::backend::aws_ssm::SsmSettings =
            toml::from_str(&super::demo_settings()).expect("valid settings");
        assert_eq!(
            settings.ring_order,
            ["Test", "Pilot", "Wave 1", "Production"]
        );
        assert_eq!(settings.production, ["Production"]);
        assert_eq!(settings.soak_minutes, 1);
    }
}
