//! Prompt versions are semantic versions `MAJOR.MINOR.PATCH` (no
//! pre-release or build parts): they name files in `latina prompts export`,
//! so anything else — slashes, dots beyond three numbers, `..` — is refused.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A prompt version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Version {
    /// Incompatible rewrite of the prompt.
    pub major: u32,
    /// New intent added (an issue addressed).
    pub minor: u32,
    /// Wording adjusted.
    pub patch: u32,
}

/// How much a new version changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bump {
    /// `x+1.0.0`
    Major,
    /// `x.y+1.0`
    Minor,
    /// `x.y.z+1`
    Patch,
}

impl Version {
    /// The next version after a bump.
    pub fn bumped(self, bump: Bump) -> Version {
        match bump {
            Bump::Major => Version {
                major: self.major + 1,
                minor: 0,
                patch: 0,
            },
            Bump::Minor => Version {
                major: self.major,
                minor: self.minor + 1,
                patch: 0,
            },
            Bump::Patch => Version {
                patch: self.patch + 1,
                ..self
            },
        }
    }
}

/// Why a version string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a version like 1.2.3")]
pub struct BadVersion(pub String);

impl FromStr for Version {
    type Err = BadVersion;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let shown: String = text.chars().take(40).collect();
        let bad = || BadVersion(shown.clone());
        let trimmed = text.trim().strip_prefix('v').unwrap_or(text.trim());
        let parts: Vec<&str> = trimmed.split('.').collect();
        if parts.len() != 3 {
            return Err(bad());
        }
        let number = |p: &str| -> Result<u32, BadVersion> {
            // No signs, no leading zeros (semver), at most 9 digits.
            let digits_only =
                !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit());
            if !digits_only || (p.len() > 1 && p.starts_with('0')) {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        Ok(Version {
            major: number(parts[0])?,
            minor: number(parts[1])?,
            patch: number(parts[2])?,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl TryFrom<String> for Version {
    type Error = BadVersion;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Version> for String {
    fn from(v: Version) -> String {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_v_prefixed_versions_and_orders_numerically() {
        let v: Version = "1.10.0".parse().unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 10, 0));
        assert_eq!("v2.0.1".parse::<Version>().unwrap().to_string(), "2.0.1");
        assert!("1.10.0".parse::<Version>().unwrap() > "1.9.9".parse().unwrap());
        assert!("2.0.0".parse::<Version>().unwrap() > "1.99.99".parse().unwrap());
    }

    #[test]
    fn refuses_anything_that_could_be_a_path_or_is_not_semver() {
        for bad in [
            "../../etc/passwd",
            "1.0.0/..",
            "1/0/0",
            "1.0",
            "1.0.0.0",
            "1.0.0-beta",
            "01.0.0",
            "-1.0.0",
            "+1.0.0",
            "",
            "1..0",
            "9999999999.0.0",
            "1.0.0\n",
        ] {
            if bad == "1.0.0\n" {
                // Surrounding whitespace is trimmed, never kept.
                assert_eq!(bad.parse::<Version>().unwrap().to_string(), "1.0.0");
                continue;
            }
            assert!(bad.parse::<Version>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bumps_reset_the_lower_parts() {
        let v: Version = "1.2.3".parse().unwrap();
        assert_eq!(v.bumped(Bump::Patch).to_string(), "1.2.4");
        assert_eq!(v.bumped(Bump::Minor).to_string(), "1.3.0");
        assert_eq!(v.bumped(Bump::Major).to_string(), "2.0.0");
    }
}
