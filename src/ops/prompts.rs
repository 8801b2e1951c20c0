//! `latina prompts`: the prompt versions, their standing, word-level diffs,
//! manual activation and rollback, and export in the original's layout.

use serde::Serialize;
use std::path::Path;

use crate::error::{Error, Result};
use crate::evolve::Version;
use crate::storage::write_atomically;
use crate::store::{DecisionRecord, PromptVersionSummary, Store};

/// One version for `latina prompts list`: its standing, and the decision
/// that ended its trial, if one did. A version's mean is over every render
/// made with it, while a decision compares both arms on the ratings of the
/// trial period only: the decision says why a rejected version's mean can
/// be above the champion's.
#[derive(Debug, Clone, Serialize)]
pub struct VersionStanding {
    /// The version, its status and ratings.
    #[serde(flatten)]
    pub summary: PromptVersionSummary,
    /// The latest decision about it as a challenger (promote, reject,
    /// expire, or a manual activate/rollback, whose numbers are zero).
    pub decision: Option<DecisionRecord>,
}

impl VersionStanding {
    /// Why the version stands where it does, in a few words; empty for a
    /// version no decision was made about (the seeded base, a challenger).
    pub fn why(&self) -> String {
        let Some(d) = &self.decision else {
            return String::new();
        };
        let numbers = format!(
            "{:.2} on {} vs {} {:.2} on {} in the same period",
            d.challenger_mean, d.challenger_n, d.champion, d.champion_mean, d.champion_n
        );
        match d.decision.as_str() {
            "promote" => format!("promoted: {numbers}"),
            "reject" => format!("rejected on its trial: {numbers}"),
            "expire" => format!("retired undecided: {numbers}"),
            "activate" => format!("activated by hand over {}", d.champion),
            "rollback" => format!("rolled back by hand (champion {})", d.champion),
            other => other.to_string(),
        }
    }
}

/// Every version, oldest first, with the decision about each.
pub fn list(store: &Store) -> Result<Vec<VersionStanding>> {
    let decisions = store.prompt_decisions()?;
    Ok(store
        .prompt_versions()?
        .into_iter()
        .map(|summary| VersionStanding {
            decision: decisions
                .iter()
                .rev()
                .find(|d| d.challenger == summary.prompt.version)
                .cloned(),
            summary,
        })
        .collect())
}

/// One version by name.
///
/// # Errors
/// [`Error::NotFound`] for an unknown version.
pub fn show(store: &Store, version: &str) -> Result<PromptVersionSummary> {
    let wanted = normalise(version)?;
    store
        .prompt_versions()?
        .into_iter()
        .find(|v| v.prompt.version == wanted)
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no prompt version {wanted:?} (see `latina prompts list`)"
            ))
        })
}

/// `v1.2.0` and `1.2.0` name the same version; anything else is refused.
fn normalise(version: &str) -> Result<String> {
    version
        .parse::<Version>()
        .map(|v| v.to_string())
        .map_err(|e| Error::NotFound(e.to_string()))
}

/// One piece of a word diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", content = "text", rename_all = "snake_case")]
pub enum DiffPiece {
    /// In both.
    Same(String),
    /// Only in the first.
    Removed(String),
    /// Only in the second.
    Added(String),
}

/// The word-level diff of two versions' prompts and negative prompts.
#[derive(Debug, Clone, Serialize)]
pub struct PromptDiff {
    /// From.
    pub from: String,
    /// To.
    pub to: String,
    /// The positive prompts.
    pub prompt: Vec<DiffPiece>,
    /// The negative prompts.
    pub negative_prompt: Vec<DiffPiece>,
}

/// Diffs two versions word by word.
///
/// # Errors
/// [`Error::NotFound`] for an unknown version.
pub fn diff(store: &Store, from: &str, to: &str) -> Result<PromptDiff> {
    let (a, b) = (show(store, from)?, show(store, to)?);
    Ok(PromptDiff {
        from: a.prompt.version.clone(),
        to: b.prompt.version.clone(),
        prompt: word_diff(&a.prompt.prompt, &b.prompt.prompt),
        negative_prompt: word_diff(&a.prompt.negative_prompt, &b.prompt.negative_prompt),
    })
}

/// Longest-common-subsequence diff over whitespace-separated words, with
/// runs of the same kind merged.
pub fn word_diff(a: &str, b: &str) -> Vec<DiffPiece> {
    let (x, y): (Vec<&str>, Vec<&str>) = (
        a.split_whitespace().collect(),
        b.split_whitespace().collect(),
    );
    let (n, m) = (x.len(), y.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if x[i] == y[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut pieces: Vec<DiffPiece> = Vec::new();
    let mut push = |piece: DiffPiece| {
        let merged = match (pieces.last_mut(), &piece) {
            (Some(DiffPiece::Same(t)), DiffPiece::Same(w))
            | (Some(DiffPiece::Removed(t)), DiffPiece::Removed(w))
            | (Some(DiffPiece::Added(t)), DiffPiece::Added(w)) => {
                t.push(' ');
                t.push_str(w);
                true
            }
            _ => false,
        };
        if !merged {
            pieces.push(piece);
        }
    };
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && x[i] == y[j] {
            push(DiffPiece::Same(x[i].to_string()));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals before additions, as `git diff --word-diff` shows them.
            push(DiffPiece::Removed(x[i].to_string()));
            i += 1;
        } else {
            push(DiffPiece::Added(y[j].to_string()));
            j += 1;
        }
    }
    pieces
}

/// What activate or rollback changed.
#[derive(Debug, Clone, Serialize)]
pub struct ChampionChange {
    /// The new champion.
    pub champion: String,
    /// The one it replaced (`None`: it already was the champion).
    pub replaced: Option<String>,
    /// A challenger whose trial was ended (rolled back) instead.
    pub rejected_challenger: Option<String>,
}

/// Makes `version` the champion.
///
/// # Errors
/// [`Error::NotFound`] for an unknown version.
pub fn activate(store: &mut Store, version: &str) -> Result<ChampionChange> {
    let version = normalise(version)?;
    let replaced = store.set_champion(&version, "activate")?;
    Ok(ChampionChange {
        champion: version,
        replaced,
        rejected_challenger: None,
    })
}

/// Undoes the latest change: a challenger on trial is rejected; otherwise
/// the previous champion returns.
///
/// # Errors
/// [`Error::NotFound`] when there is no earlier champion.
pub fn rollback(store: &mut Store) -> Result<ChampionChange> {
    if let Some(challenger) = store.challenger()? {
        store.reject_challenger(&challenger.prompt.version)?;
        let champion = store
            .champion_prompt()?
            .ok_or_else(|| Error::NotFound("no champion prompt".into()))?;
        return Ok(ChampionChange {
            champion: champion.version,
            replaced: None,
            rejected_challenger: Some(challenger.prompt.version),
        });
    }
    let previous = store
        .previous_champion()?
        .ok_or_else(|| Error::NotFound("no earlier champion to roll back to".into()))?;
    let replaced = store.set_champion(&previous, "rollback")?;
    Ok(ChampionChange {
        champion: previous,
        replaced,
        rejected_challenger: None,
    })
}

/// Writes `versions/vX.Y.Z.json` for every version and `current.json` (the
/// champion) under `dir`, like the original system's layout. Returns the
/// number of versions written.
///
/// # Errors
/// [`Error::Io`] when a file cannot be written.
pub fn export(store: &Store, dir: &Path) -> Result<usize> {
    let versions = store.prompt_versions()?;
    for v in &versions {
        // Versions are validated semver, so the file name cannot escape `dir`.
        let name = normalise(&v.prompt.version)?;
        let path = dir.join("versions").join(format!("v{name}.json"));
        write_atomically(&path, &pretty(v)?)?;
        if v.status == crate::domain::PromptStatus::Champion {
            write_atomically(&dir.join("current.json"), &pretty(v)?)?;
        }
    }
    Ok(versions.len())
}

fn pretty(v: &PromptVersionSummary) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(v).expect("versions serialise");
    bytes.push(b'\n');
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_diff_keeps_order_and_merges_runs() {
        let d = word_diff(
            "soft natural light, balanced exposure",
            "bright natural light, balanced exposure, sense of depth",
        );
        assert_eq!(
            d,
            vec![
                DiffPiece::Removed("soft".into()),
                DiffPiece::Added("bright".into()),
                DiffPiece::Same("natural light, balanced".into()),
                DiffPiece::Removed("exposure".into()),
                DiffPiece::Added("exposure, sense of depth".into()),
            ]
        );
        assert_eq!(word_diff("", ""), vec![]);
        assert_eq!(word_diff("a b", "a b"), vec![DiffPiece::Same("a b".into())]);
    }
}
