use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use trophyd::auth::KeyKind;
use trophyd::cli::{load_config, Cli, Command, Import, TenantCommand};
use trophyd::{config, db, shards, Application, ConfigSource};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Before anything touches SQLite, and while this is the only thread.
    let page_cache = db::page_cache::install();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    if !page_cache {
        log::warn!("SQLite's page cache could not be wrapped; commits walk it in full");
    }
    let cli = Cli::parse();
    match &cli.command {
        None => serve(&cli),
        Some(Command::Check) => check(&cli),
        Some(Command::Init { path }) => init(path),
        Some(Command::Backup { data, dest }) => match db::backup(data, dest) {
            Ok(()) => {
                println!("backed up {} to {}", data.display(), dest.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&format!("backup failed: {e}")),
        },
        Some(Command::Import(what)) => import(&cli, what),
        Some(Command::Tenant { command }) => tenant(&cli, command),
    }
}

/// What a tenant command takes from the command line and the config.
struct TenantTarget {
    /// `--data`, else `[server] data` of the config.
    data: std::path::PathBuf,
    /// `checkpoints = "external"`: the WAL is Litestream's to checkpoint.
    external_checkpoints: bool,
    /// A config file that does not say `multi_tenant = true`.
    single_tenant_file: bool,
}

fn tenant_target(cli: &Cli, data: Option<&std::path::Path>) -> Result<TenantTarget, String> {
    let (config, source) = load_config(cli.config.as_deref())?;
    Ok(TenantTarget {
        data: data
            .or(cli.data.as_deref())
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| config.server.data.clone()),
        external_checkpoints: config.server.checkpoints == config::Checkpoints::External,
        single_tenant_file: matches!(source, ConfigSource::File(_)) && !config.server.multi_tenant,
    })
}

fn tenant(cli: &Cli, command: &TenantCommand) -> ExitCode {
    match command {
        TenantCommand::Export { tenant, file, data } => {
            let data = match tenant_target(cli, data.as_deref()) {
                Ok(target) => target.data,
                Err(e) => return fail(&e),
            };
            let started = std::time::Instant::now();
            match shards::export(&data, tenant, file) {
                Ok(report) => {
                    let route = format!("from {} to {}", data.display(), file.display());
                    print_moved("exported", &report, &route, started);
                    for (table, n) in &report.counts {
                        println!("  {table:<28} {n:>10}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&format!("export failed: {e}")),
            }
        }
        TenantCommand::Import {
            file,
            data,
            accept_new_definition_ids,
        } => {
            let target = match tenant_target(cli, data.as_deref()) {
                Ok(target) => target,
                Err(e) => return fail(&e),
            };
            let data = target.data;
            let options = shards::ImportOptions {
                accept_new_definition_ids: *accept_new_definition_ids,
                no_checkpoint_on_close: target.external_checkpoints,
            };
            let started = std::time::Instant::now();
            match shards::import(&data, file, options) {
                Ok(report) => {
                    for warning in &report.warnings {
                        eprintln!("trophyd: warning: {warning}");
                    }
                    let route = format!("from {} into {}", file.display(), data.display());
                    print_moved("imported", &report.tenant, &route, started);
                    for (table, n) in &report.tenant.counts {
                        let note = match *table {
                            "definitions" => format!(
                                " (the tenant's own; {} shared ones mapped by kind and key)",
                                report.shared_definitions
                            ),
                            "points_trigger_snapshots" if report.snapshots_reused > 0 => {
                                format!(" ({} already here)", report.snapshots_reused)
                            }
                            _ => String::new(),
                        };
                        println!("  {table:<28} {n:>10}{note}");
                    }
                    if target.single_tenant_file {
                        eprintln!(
                            "trophyd: warning: the config does not set multi_tenant = true: \
                             the node serves imported tenants only in multi-tenant mode"
                        );
                    }
                    if report.tenant.status != "active" {
                        println!(
                            "note: the tenant is {} (as on the source)",
                            report.tenant.status
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&format!("import refused: {e}")),
            }
        }
    }
}

/// Prints the line that opens a tenant command's report: `action` ("exported", "imported")
/// the tenant along `route` ("from … to …"), in the time since `started`.
fn print_moved(
    action: &str,
    tenant: &shards::MovedTenant,
    route: &str,
    started: std::time::Instant,
) {
    println!(
        "{action} tenant \"{}\" ({}, {}) {route} in {:.2} s:",
        tenant.customer_id,
        tenant.name,
        tenant.status,
        started.elapsed().as_secs_f64()
    );
}

fn import(cli: &Cli, what: &Import) -> ExitCode {
    let (args, noun, run): (_, _, fn(_, _) -> _) = match what {
        Import::Events(args) => (args, "events", trophyd::import::events),
        Import::Users(args) => (args, "users", trophyd::import::users),
    };
    let settings = match cli.offline_settings(args.data.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let report = match run(settings, args.options()) {
        Ok(report) => report,
        Err(e) => return fail(&format!("import failed: {e}")),
    };
    let seconds = report.elapsed.as_secs_f64();
    println!(
        "imported {} {noun} from {} records in {seconds:.1} s ({:.0} {noun}/s), {} transactions; {} already there",
        report.applied,
        report.records,
        report.applied as f64 / seconds.max(1e-9),
        report.transactions,
        report.replayed,
    );
    println!("writer: {}", report.writer_cost());
    if report.resumed_after > 0 {
        println!(
            "resumed: the first {} {noun} (in time order) were imported by an earlier run",
            report.resumed_after
        );
    }
    if report.refused.is_empty() {
        return ExitCode::SUCCESS;
    }
    println!("{} records refused:", report.refused.len());
    for (line, reason) in &report.refused {
        println!("  line {line}: {reason}");
    }
    ExitCode::FAILURE
}

fn fail(message: &str) -> ExitCode {
    eprintln!("trophyd: {message}");
    ExitCode::FAILURE
}

fn check(cli: &Cli) -> ExitCode {
    match load_config(cli.config.as_deref()) {
        Ok((config, ConfigSource::File(path))) => {
            // The files the config names (email templates, push keys) are read at start;
            // a problem in one is a problem of the config.
            if let Err(problem) = trophyd::notifications::check_files(&config) {
                println!("{}: {problem}", path.display());
                return ExitCode::FAILURE;
            }
            println!("{}: ok", path.display());
            ExitCode::SUCCESS
        }
        Ok((_, ConfigSource::Demo)) => {
            println!("no trophy.toml found; the built-in demo configuration is valid");
            ExitCode::SUCCESS
        }
        Err(problems) => {
            println!("{problems}");
            ExitCode::FAILURE
        }
    }
}

fn init(path: &std::path::Path) -> ExitCode {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path);
    match file.and_then(|mut f| f.write_all(config::EXAMPLE_CONFIG.as_bytes())) {
        Ok(()) => {
            println!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => fail(&format!(
            "{} already exists; not overwriting it",
            path.display()
        )),
        Err(e) => fail(&format!("could not write {}: {e}", path.display())),
    }
}

fn serve(cli: &Cli) -> ExitCode {
    let settings = match cli.settings() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    if settings.source == ConfigSource::Demo {
        log::info!(
            "no config file given and no ./trophy.toml: running the built-in demo configuration"
        );
    }
    let system = actix_web::rt::System::new();
    let result = system.block_on(async move {
        let app = Application::build(settings).await?;
        // Tests read the port from this line, so it comes first.
        println!("trophyd listening on http://{}", app.address());
        for (kind, key) in &app.generated_keys {
            let what = match kind {
                KeyKind::Application => "application API key",
                KeyKind::Admin => "admin API key",
            };
            println!("generated {what} (shown once, only its hash is stored): {key}");
        }
        let _ = std::io::stdout().flush();
        app.run_until_stopped().await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}
