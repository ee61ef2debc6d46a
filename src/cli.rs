//! The command line (docs/interface.md#command-line).

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{self, Config};
use crate::settings::{ConfigSource, RuntimeSettings};

#[derive(Debug, Parser)]
#[command(
    name = "trophyd",
    version,
    about = "Self-hosted gamification server speaking the Trophy API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// trophy.toml to load (default: ./trophy.toml if present, else the built-in demo).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Address to listen on, overriding [server] listen. Port 0 picks a free port.
    #[arg(long)]
    pub listen: Option<String>,
    /// SQLite file, overriding [server] data.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Enable POST/GET /_test/clock.
    #[arg(long)]
    pub test_clock: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config; print every problem with its location; exit 1 on any.
    Check,
    /// Write a commented starter trophy.toml (refuses to overwrite).
    Init {
        #[arg(default_value = "trophy.toml")]
        path: PathBuf,
    },
    /// Consistent online copy of the database.
    Backup {
        #[arg(long)]
        data: PathBuf,
        dest: PathBuf,
    },
    /// Replay history through the engine, as if it had arrived live (stop the server first).
    #[command(subcommand)]
    Import(Import),
    /// Move one tenant between nodes: export its whole state, import it elsewhere.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum Import {
    /// Events (JSON Lines or CSV; README "Importing history"), applied in time order.
    Events(ImportArgs),
    /// Users (JSON Lines of the API's user objects, or CSV), created or updated.
    Users(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import.
    pub file: PathBuf,
    /// SQLite file, overriding [server] data.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The tenant's id, as sent in `Tenant-ID` (multi-tenant servers only).
    #[arg(long)]
    pub tenant: Option<String>,
    /// The file's format (default: csv for a .csv file, else jsonl).
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FileFormat {
    Jsonl,
    Csv,
}

impl ImportArgs {
    pub fn options(&self) -> crate::import::Options {
        crate::import::Options {
            file: self.file.clone(),
            format: self.format.map(|f| match f {
                FileFormat::Jsonl => crate::import::format::Format::JsonLines,
                FileFormat::Csv => crate::import::format::Format::Csv,
            }),
            tenant: self.tenant.clone(),
            progress: !self.quiet,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Write one tenant's whole state (users, events, streaks, achievements, points,
    /// leaderboards, wrapped, keys, its definitions) to FILE, a new SQLite file. Reads the
    /// database in one transaction; a running node may go on serving.
    Export {
        /// The tenant's id as clients send it in `Tenant-ID` (its customer id).
        #[arg(long, value_name = "ID")]
        tenant: String,
        /// The export file to write (refuses to overwrite).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// SQLite file of the source node (default: [server] data of --config).
        #[arg(long, value_name = "PATH")]
        data: Option<PathBuf>,
    },
    /// Add the tenant of an export FILE to a stopped node's database, all or nothing.
    /// Refuses a tenant the node already has, and a running node.
    Import {
        /// The export file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// SQLite file of the target node (default: [server] data of --config).
        #[arg(long, value_name = "PATH")]
        data: Option<PathBuf>,
        /// Import even if shared definitions (trophy.toml's) have other UUIDs here than on
        /// the source; the tenant's clients then see new ids for them.
        #[arg(long)]
        accept_new_definition_ids: bool,
    },
}

/// Loads the config the way `serve` and `check` do: `--config`, else `./trophy.toml`,
/// else the demo; then environment overrides.
pub fn load_config(explicit: Option<&Path>) -> Result<(Config, ConfigSource), String> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from("trophy.toml")).filter(|p| p.exists()),
    };
    let (mut config, source) = match path {
        Some(path) => (
            config::load_file(&path).map_err(|e| e.to_string())?,
            ConfigSource::File(path),
        ),
        None => (config::demo(), ConfigSource::Demo),
    };
    config::apply_env(&mut config, |name| std::env::var(name).ok())?;
    Ok((config, source))
}

impl Cli {
    /// The settings an offline command runs with: the config, and `data` over [server] data.
    pub fn offline_settings(&self, data: Option<&Path>) -> Result<RuntimeSettings, String> {
        let (config, source) = load_config(self.config.as_deref())?;
        let mut settings = RuntimeSettings::new(config, source);
        if let Some(data) = data.or(self.data.as_deref()) {
            settings.data = data.to_path_buf();
        }
        Ok(settings)
    }

    /// The settings `serve` runs with: the config plus command-line overrides.
    pub fn settings(&self) -> Result<RuntimeSettings, String> {
        let (config, source) = load_config(self.config.as_deref())?;
        let mut settings = RuntimeSettings::new(config, source);
        if let Some(listen) = &self.listen {
            settings.listen = listen.clone();
        }
        if let Some(data) = &self.data {
            settings.data = data.clone();
        }
        settings.test_clock = self.test_clock;
        Ok(settings)
    }
}
