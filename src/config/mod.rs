//! `latina.toml`: the schema, its defaults, and layering with the environment.
//!
//! Priority, lowest first: built-in defaults, the config file, `LATINA_*`
//! environment overrides, command-line flags. Loading is a pure function of
//! (file text, environment pairs) so tests pass maps and never touch the real
//! environment. Flags (and their `LATINA_DB`-style env twins) are applied by
//! the CLI; this module handles the file keys and their
//! `LATINA_<SECTION>__<KEY>` overrides, e.g. `LATINA_ENHANCE__VARIANTS=3`.
//!
//! One concept per file: `load` finds and reads the file,
//! `env` turns the environment into overrides, `validate` checks what types
//! cannot, and each section group has its own file (`enhance`,
//! `optimizer`, `evolution`, `guard`, `reward`, `serve`, `providers`).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

mod comfyui;
mod enhance;
mod env;
mod evolution;
mod guard;
mod load;
mod optimizer;
mod providers;
mod reward;
mod serve;
mod storage;
mod ui;
mod validate;

pub use comfyui::ComfyuiConfig;
pub use enhance::EnhanceConfig;
pub use env::text_env;
pub use evolution::{EmbeddingsConfig, EvolutionConfig, EvolverKind, LlmConfig, LlmResponseFormat};
pub use guard::GuardConfig;
pub use load::{ConfigSource, load, locate, parse};
pub use optimizer::OptimizerConfig;
pub use providers::{
    BflConfig, BflModel, BuiltinConfig, LeonardoConfig, LeonardoStructure, ProviderConfig,
    REPLICATE_DEFAULT_VERSION, REPLICATE_RESERVED_INPUTS, ReplicateConfig, ReplicateSchema,
    SdWebuiConfig, StabilityConfig,
};
pub use reward::{CLIP_MEAN, CLIP_STD, RewardConfig};
pub use serve::ServeConfig;
pub use storage::{S3Config, StorageUrl};
pub use ui::{ImagesSetting, UiConfig};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where renders, copies of originals and the database live; unset means
    /// the user's data directory (XDG), e.g. `~/.local/share/latina`.
    pub data_dir: Option<PathBuf>,
    /// The SQLite file, or a studio's `postgres://user@host:port/db` URL;
    /// unset means `<data_dir>/latina.db`.
    pub database: Option<PathBuf>,
    /// The environment variable holding the PostgreSQL password (else
    /// `PGPASSWORD`, else `~/.pgpass`); the password itself never goes here.
    pub database_password_env: Option<String>,
    /// Seed for the optimizer's random choices; unset means fresh randomness.
    pub seed: Option<u64>,
    /// Who ratings are recorded as when `--by` is not given; unset means `$USER`.
    pub rater: Option<String>,
    /// Where image files live besides the data dir: `s3://bucket/prefix`
    /// (the data dir is then a cache); unset means only the data dir.
    pub storage: Option<StorageUrl>,
    /// `latina enhance` settings.
    pub enhance: EnhanceConfig,
    /// Search space and optimizer settings.
    pub optimizer: OptimizerConfig,
    /// Prompt evolution and the champion/challenger test.
    pub evolution: EvolutionConfig,
    /// The structure guard.
    pub guard: GuardConfig,
    /// The reward model's inputs (the optional ONNX image model).
    pub reward: RewardConfig,
    /// Terminal presentation (inline images).
    pub ui: UiConfig,
    /// `latina serve`: bind address, port, token variable.
    pub serve: ServeConfig,
    /// The object store's credentials, by environment variable name.
    pub s3: S3Config,
    /// The provider arms the optimizer chooses between, in order.
    pub providers: Vec<ProviderConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: None,
            database: None,
            database_password_env: None,
            seed: None,
            rater: None,
            storage: None,
            enhance: EnhanceConfig::default(),
            optimizer: OptimizerConfig::default(),
            evolution: EvolutionConfig::default(),
            guard: GuardConfig::default(),
            reward: RewardConfig::default(),
            ui: UiConfig::default(),
            serve: ServeConfig::default(),
            s3: S3Config::default(),
            providers: vec![
                ProviderConfig::BuiltinTone(BuiltinConfig {
                    name: "tone".into(),
                }),
                ProviderConfig::BuiltinDetail(BuiltinConfig {
                    name: "detail".into(),
                }),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Result;

    const NO_ENV: [(&str, &str); 0] = [];

    fn message(result: Result<Config>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn ui_images_takes_the_five_settings_and_refuses_others() {
        for (text, want) in [
            ("auto", ImagesSetting::Auto),
            ("kitty", ImagesSetting::Kitty),
            ("iterm", ImagesSetting::Iterm),
            ("sixel", ImagesSetting::Sixel),
            ("off", ImagesSetting::Off),
        ] {
            let file = format!("[ui]\nimages = \"{text}\"\n");
            assert_eq!(parse("t", &file, NO_ENV).unwrap().ui.images, want);
        }
        let env = [("LATINA_UI__IMAGES", "off")];
        assert_eq!(parse("t", "", env).unwrap().ui.images, ImagesSetting::Off);
        let bad = message(parse("t", "[ui]\nimages = \"png\"\n", NO_ENV));
        assert!(bad.contains("images"), "{bad}");
    }

    #[test]
    fn shipped_example_parses_and_equals_the_defaults() {
        let text = include_str!("../../latina.toml.example");
        let parsed = parse("latina.toml.example", text, NO_ENV).unwrap();
        assert_eq!(parsed, Config::default());
    }

    /// Every commented-out provider block of the example, uncommented, is a
    /// valid config: the documentation cannot drift from the schema.
    #[test]
    fn the_examples_commented_provider_blocks_parse_when_uncommented() {
        let text = include_str!("../../latina.toml.example");
        let mut blocks = Vec::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            let uncommented = line.strip_prefix("# ").unwrap_or("");
            if uncommented == "[[providers]]" {
                current = Some(String::from("[[providers]]\n"));
                continue;
            }
            if let Some(block) = current.as_mut() {
                if line.trim().is_empty() {
                    blocks.push(current.take().unwrap_or_default());
                } else if uncommented.split_once(" = ").is_some_and(|(key, _)| {
                    !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                }) {
                    block.push_str(uncommented);
                    block.push('\n');
                }
            }
        }
        blocks.extend(current);
        let kinds: Vec<&str> = blocks
            .iter()
            .map(|b| {
                let config =
                    parse("example block", b, NO_ENV).unwrap_or_else(|e| panic!("{e}\n{b}"));
                config.providers[0].kind()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "sd-webui",
                "leonardo",
                "replicate",
                "stability",
                "bfl",
                "comfyui"
            ]
        );
    }

    /// The example's commented `[evolution.embeddings]` block, uncommented,
    /// is valid; bad values are refused with the key named.
    #[test]
    fn the_examples_embeddings_block_parses_when_uncommented_and_is_checked() {
        let text = include_str!("../../latina.toml.example");
        let start = text
            .find("# [evolution.embeddings]")
            .expect("the example documents [evolution.embeddings]");
        let block: String = text[start..]
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.starts_with('[')
                    || l.split_once(" = ")
                        .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let config =
            parse("example block", &block, NO_ENV).unwrap_or_else(|e| panic!("{e}\n{block}"));
        let embeddings = config.evolution.embeddings.expect("configured");
        assert_eq!(embeddings, EmbeddingsConfig::default());
        for (bad, key) in [
            ("threshold = 1.5", "evolution.embeddings.threshold"),
            ("model = \" \"", "evolution.embeddings.model"),
            ("base_url = \"ftp://x\"", "evolution.embeddings.base_url"),
            ("timeout_secs = 0", "evolution.embeddings.timeout_secs"),
        ] {
            let text = format!("[evolution.embeddings]\n{bad}\n");
            let msg = message(parse("f.toml", &text, NO_ENV));
            assert!(msg.contains(key), "{msg}");
        }
        let msg = message(parse(
            "f.toml",
            "[evolution.embeddings]\nmodel = \"m\"\nkey = \"sk-x\"\n",
            NO_ENV,
        ));
        assert!(msg.contains("line 3") && msg.contains("key"), "{msg}");
        let msg = message(parse(
            "f.toml",
            "[evolution.embeddings]\ndimensions = \"many\"\n",
            NO_ENV,
        ));
        assert!(msg.contains("line 2"), "{msg}");
    }

    /// `[reward]`: the normalisation is checked by key; the model path is
    /// resolved against the config file's folder and must name a file.
    #[test]
    fn reward_settings_are_checked_and_the_model_path_starts_at_the_file() {
        for (bad, key) in [
            ("embedding_std = [0.2, 0.0, 0.3]", "reward.embedding_std"),
            ("embedding_mean = [0.1, nan, 0.2]", "reward.embedding_mean"),
            ("embedding_std = [1.0, 1.0]", "reward.embedding_std"),
            ("embedding_model = \"\"", "reward.embedding_model"),
        ] {
            let msg = message(parse("f.toml", &format!("[reward]\n{bad}\n"), NO_ENV));
            assert!(msg.contains(key), "{bad}: {msg}");
        }
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("conf");
        std::fs::create_dir_all(sub.join("models")).unwrap();
        let file = sub.join("latina.toml");
        std::fs::write(&file, "[reward]\nembedding_model = \"models/m.onnx\"\n").unwrap();
        let source = ConfigSource::File(file.clone());
        let msg = message(load(&source, NO_ENV));
        assert!(
            msg.contains("key `reward.embedding_model`")
                && msg.contains(&format!(
                    "{} does not exist",
                    sub.join("models/m.onnx").display()
                )),
            "{msg}"
        );
        std::fs::create_dir_all(sub.join("models/m.onnx")).unwrap();
        assert!(message(load(&source, NO_ENV)).contains("is a directory"));
        std::fs::remove_dir(sub.join("models/m.onnx")).unwrap();
        std::fs::write(sub.join("models/m.onnx"), b"x").unwrap();
        let config = load(&source, NO_ENV).unwrap();
        assert_eq!(
            config.reward.embedding_model,
            Some(sub.join("models/m.onnx"))
        );
        assert_eq!(config.reward.embedding_mean, CLIP_MEAN);
    }

    #[test]
    fn empty_file_means_defaults() {
        assert_eq!(parse("x", "", NO_ENV).unwrap(), Config::default());
    }

    #[test]
    fn unknown_key_names_file_line_and_section() {
        let msg = message(parse(
            "/etc/latina.toml",
            "[enhance]\nvarients = 3\n",
            NO_ENV,
        ));
        assert!(msg.starts_with("config /etc/latina.toml: line 2"), "{msg}");
        assert!(msg.contains("varients"), "{msg}");
        assert!(msg.contains("variants"), "suggests the valid keys: {msg}");
    }

    #[test]
    fn wrong_type_names_the_key_and_what_was_expected() {
        let msg = message(parse("f.toml", "[enhance]\nvariants = \"two\"\n", NO_ENV));
        assert!(msg.contains("key `enhance.variants`"), "{msg}");
        assert!(msg.contains("expected u32"), "{msg}");
    }

    #[test]
    fn syntax_error_has_a_line() {
        let msg = message(parse("f.toml", "[enhance\n", NO_ENV));
        assert!(msg.starts_with("config f.toml: line 1"), "{msg}");
    }

    #[test]
    fn out_of_range_values_are_rejected_with_the_key() {
        let msg = message(parse("f.toml", "[enhance]\nvariants = 0\n", NO_ENV));
        assert!(
            msg.contains("key `enhance.variants`: expected 1 to 8"),
            "{msg}"
        );
        let msg = message(parse(
            "f.toml",
            "[optimizer]\ninit_strength = [0.5, 0.1]\n",
            NO_ENV,
        ));
        assert!(msg.contains("optimizer.init_strength"), "{msg}");
    }

    #[test]
    fn providers_are_a_tagged_list_with_unique_names() {
        let text = "[[providers]]\nname = \"a\"\ntype = \"builtin-tone\"\n";
        let config = parse("f", text, NO_ENV).unwrap();
        assert_eq!(
            config.providers,
            vec![ProviderConfig::BuiltinTone(BuiltinConfig {
                name: "a".into()
            })]
        );
        let twice = format!("{text}{text}");
        assert!(message(parse("f", &twice, NO_ENV)).contains("used twice"));
        let unknown = "[[providers]]\nname = \"a\"\ntype = \"dalle\"\n";
        let msg = message(parse("f", unknown, NO_ENV));
        assert!(msg.contains("dalle"), "{msg}");
    }

    #[test]
    fn a_webui_provider_needs_a_url_and_gets_defaults() {
        let text = "[[providers]]\nname = \"gpu\"\ntype = \"sd-webui\"\nbase_url = \"http://10.0.0.5:7860\"\ncontrolnet_model = \"control_v11p_sd15_mlsd\"\n";
        let config = parse("f", text, NO_ENV).unwrap();
        match &config.providers[0] {
            ProviderConfig::SdWebui(c) => {
                assert_eq!(
                    (c.steps, c.sampler.as_str(), c.timeout_secs),
                    (25, "Euler a", 300)
                );
            }
            other => panic!("{other:?}"),
        }
        let bad = text.replace("http://10.0.0.5:7860", "10.0.0.5:7860");
        let msg = message(parse("f", &bad, NO_ENV));
        assert!(msg.contains("base_url: expected an http"), "{msg}");
        let typo = format!("{text}stepz = 3\n");
        assert!(message(parse("f", &typo, NO_ENV)).contains("stepz"));
    }

    #[test]
    fn hosted_providers_get_vendor_defaults_and_key_variable_names() {
        let text = "[[providers]]\nname = \"leo\"\ntype = \"leonardo\"\n\n[[providers]]\nname = \"rep\"\ntype = \"replicate\"\nextra_input = { scheduler = \"K_EULER\" }\n";
        let config = parse("f", text, NO_ENV).unwrap();
        let ProviderConfig::Leonardo(leo) = &config.providers[0] else {
            panic!("{:?}", config.providers[0]);
        };
        assert_eq!(leo.base_url, "https://cloud.leonardo.ai/api/rest/v1");
        assert_eq!(leo.api_key_env, "LEONARDO_API_KEY");
        assert_eq!(leo.preprocessor_id, 19);
        assert!(!leo.alchemy);
        let ProviderConfig::Replicate(rep) = &config.providers[1] else {
            panic!("{:?}", config.providers[1]);
        };
        assert_eq!(rep.token_env, "REPLICATE_API_TOKEN");
        assert_eq!(
            rep.create_target(),
            (
                "/predictions".to_string(),
                Some(providers::REPLICATE_DEFAULT_VERSION.to_string())
            )
        );
        assert_eq!(rep.extra_input["scheduler"], "K_EULER");
        let official = text.replace("extra_input", "model = \"acme/sdxl\"\nextra_input");
        let config = parse("f", &official, NO_ENV).unwrap();
        let ProviderConfig::Replicate(rep) = &config.providers[1] else {
            panic!();
        };
        assert_eq!(
            rep.create_target(),
            ("/models/acme/sdxl/predictions".to_string(), None)
        );
        let both = official.replace("model =", "version = \"abc\"\nmodel =");
        assert!(message(parse("f", &both, NO_ENV)).contains("either version or model"));
        let short = text.replace("extra_input", "version = \"acme/x:abc\"\nextra_input");
        assert!(message(parse("f", &short, NO_ENV)).contains("64 hex digits"));
        let reserved = text.replace("scheduler", "prompt_strength");
        assert!(
            message(parse("f", &reserved, NO_ENV)).contains("extra_input.prompt_strength"),
            "the optimizer's knob cannot be pinned"
        );
        let flux = text.replace("extra_input", "schema = \"flux-kontext-pro\"\nextra_input");
        assert!(message(parse("f", &flux, NO_ENV)).contains("a FLUX schema needs model"));
        let flux_model = flux.replace(
            "extra_input",
            "model = \"black-forest-labs/flux-kontext-pro\"\nextra_input",
        );
        assert!(parse("f", &flux_model, NO_ENV).is_ok());
        let guidance = text.replace("scheduler", "guidance");
        assert!(message(parse("f", &guidance, NO_ENV)).contains("extra_input.guidance"));
        let steps = text.replace("type = \"leonardo\"", "type = \"leonardo\"\nsteps = 5");
        assert!(message(parse("f", &steps, NO_ENV)).contains("steps: expected 10-60"));
    }

    #[test]
    fn environment_overrides_the_file() {
        let env = [
            ("LATINA_ENHANCE__VARIANTS", "3"),
            ("LATINA_OPTIMIZER__INIT_STRENGTH", "[0.2, 0.4]"),
            ("LATINA_RATER", "ignored: a flag twin, not a key"),
            ("HOME", "/root"),
        ];
        let config = parse("f", "[enhance]\nvariants = 4\n", env).unwrap();
        assert_eq!(config.enhance.variants, 3);
        assert_eq!(config.optimizer.init_strength, [0.2, 0.4]);
    }

    #[test]
    fn bad_environment_value_names_the_variable() {
        let msg = message(parse("f", "", [("LATINA_ENHANCE__VARIANTS", "lots")]));
        assert!(
            msg.starts_with("config environment LATINA_ENHANCE__VARIANTS: key `enhance.variants`"),
            "{msg}"
        );
        let msg = message(parse("f", "", [("LATINA_ENHANCE__VARIANTS", "99")]));
        assert!(msg.contains("expected 1 to 8"), "{msg}");
    }

    #[test]
    fn locate_prefers_explicit_then_cwd_then_user_dir() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().join("cwd");
        let user = dir.path().join("user");
        std::fs::create_dir_all(&cwd).unwrap();
        std::fs::create_dir_all(&user).unwrap();
        assert_eq!(
            locate(None, &cwd, Some(&user)).unwrap(),
            ConfigSource::Defaults
        );
        std::fs::write(user.join("latina.toml"), "").unwrap();
        assert_eq!(
            locate(None, &cwd, Some(&user)).unwrap(),
            ConfigSource::File(user.join("latina.toml"))
        );
        std::fs::write(cwd.join("latina.toml"), "").unwrap();
        assert_eq!(
            locate(None, &cwd, Some(&user)).unwrap(),
            ConfigSource::File(cwd.join("latina.toml"))
        );
        let missing = dir.path().join("nope.toml");
        assert!(locate(Some(&missing), &cwd, Some(&user)).is_err());
    }
}
