use std::fmt;
use std::str::FromStr;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Outcome, ParseError};

/// Signals that mean "somebody stopped the job" rather than "the job broke":
/// SIGHUP (1), SIGINT (2) and SIGTERM (15).
const CANCEL_SIGNALS: [i32; 3] = [1, 2, 15];

/// The exit codes a shell, restic and borg report for a run ended by SIGHUP,
/// SIGINT or SIGTERM (128 + the signal): cancelled under every tool preset.
const CANCEL_CODES: [i32; 3] = [129, 130, 143];

/// A named exit-code convention of a well-known tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Preset {
    /// 0 is success, anything else failure.
    Default,
    /// borg: 0 success, 1 warning, 2 and above failure.
    ///
    /// Under every preset but `default`, 129, 130 and 143 (a run stopped by
    /// SIGHUP, SIGINT or SIGTERM, as restic, borg and shells report it) are
    /// cancelled.
    Borg,
    /// restic: 0 success, 3 warning (some source files could not be read),
    /// anything else failure.
    Restic,
    /// rsync: 0 success, 23 and 24 warning (partial transfer, vanished source
    /// files), 20 (stopped by SIGINT, SIGTERM or SIGHUP) cancelled, anything
    /// else failure.
    Rsync,
    /// rclone: 0 success, anything else failure.
    Rclone,
}

impl Preset {
    /// Every preset name, as accepted by `--exit-codes` and `exit_codes =`.
    pub const NAMES: &'static [&'static str] = &["default", "borg", "restic", "rsync", "rclone"];

    /// The preset's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Default => "default",
            Preset::Borg => "borg",
            Preset::Restic => "restic",
            Preset::Rsync => "rsync",
            Preset::Rclone => "rclone",
        }
    }

    fn outcome(self, code: i32) -> Outcome {
        match (self, code) {
            (_, 0) => Outcome::Success,
            (Preset::Default, _) => Outcome::Failure,
            (_, c) if CANCEL_CODES.contains(&c) => Outcome::Cancelled,
            (Preset::Rsync, 20) => Outcome::Cancelled,
            (Preset::Borg, 1) | (Preset::Restic, 3) | (Preset::Rsync, 23 | 24) => Outcome::Warning,
            _ => Outcome::Failure,
        }
    }
}

impl FromStr for Preset {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "default" => Ok(Preset::Default),
            "borg" | "borgbackup" => Ok(Preset::Borg),
            "restic" => Ok(Preset::Restic),
            "rsync" => Ok(Preset::Rsync),
            "rclone" => Ok(Preset::Rclone),
            _ => Err(ParseError::new("exit-code preset", s, Preset::NAMES)),
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A custom exit-code map, e.g. `exit_codes = { warning = [1, 24] }`.
///
/// Codes listed under `success` (default `[0]`) are successes, those under
/// `warning` warnings, those under `cancelled` cancellations; every other code
/// is a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomExitCodes {
    /// Codes that mean success. Default: `[0]`.
    #[serde(default = "default_success")]
    pub success: Vec<i32>,
    /// Codes that mean the job finished with warnings.
    #[serde(default)]
    pub warning: Vec<i32>,
    /// Codes that mean the job was cancelled.
    #[serde(default)]
    pub cancelled: Vec<i32>,
}

fn default_success() -> Vec<i32> {
    vec![0]
}

impl Default for CustomExitCodes {
    fn default() -> Self {
        CustomExitCodes {
            success: default_success(),
            warning: Vec::new(),
            cancelled: Vec::new(),
        }
    }
}

/// How a wrapped command's exit status becomes an [`Outcome`]: a [`Preset`]
/// or a [`CustomExitCodes`] map.
///
/// In configuration it is either a preset name (`exit_codes = "borg"`) or a
/// table (`exit_codes = { warning = [1, 24] }`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitCodes {
    /// A named convention.
    Preset(Preset),
    /// A map of codes to outcomes.
    Custom(CustomExitCodes),
}

impl Default for ExitCodes {
    fn default() -> Self {
        ExitCodes::Preset(Preset::Default)
    }
}

impl ExitCodes {
    /// The outcome of a command that exited with `exit_code`, or was ended by
    /// `signal`. A signal wins over an exit code: SIGHUP, SIGINT and SIGTERM
    /// mean cancelled, any other signal (SIGKILL, SIGSEGV, ...) failure. With
    /// neither (the status could not be read) the outcome is failure.
    pub fn outcome(&self, exit_code: Option<i32>, signal: Option<i32>) -> Outcome {
        if let Some(sig) = signal {
            return if CANCEL_SIGNALS.contains(&sig) {
                Outcome::Cancelled
            } else {
                Outcome::Failure
            };
        }
        let Some(code) = exit_code else {
            return Outcome::Failure;
        };
        match self {
            ExitCodes::Preset(p) => p.outcome(code),
            ExitCodes::Custom(map) => {
                if map.success.contains(&code) {
                    Outcome::Success
                } else if map.warning.contains(&code) {
                    Outcome::Warning
                } else if map.cancelled.contains(&code) {
                    Outcome::Cancelled
                } else {
                    Outcome::Failure
                }
            }
        }
    }
}

impl FromStr for ExitCodes {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(ExitCodes::Preset)
    }
}

impl Serialize for ExitCodes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ExitCodes::Preset(p) => serializer.serialize_str(p.as_str()),
            ExitCodes::Custom(map) => map.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ExitCodes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExitCodesVisitor;

        impl<'de> Visitor<'de> for ExitCodesVisitor {
            type Value = ExitCodes;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a preset name (default, borg, restic, rsync, rclone) or a table such as { warning = [1, 24] }",
                )
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ExitCodes, E> {
                v.parse().map_err(E::custom)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ExitCodes, A::Error> {
                CustomExitCodes::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(ExitCodes::Custom)
            }
        }

        deserializer.deserialize_any(ExitCodesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::*;

    #[test]
    fn presets_map_codes() {
        let cases: &[(&str, i32, Outcome)] = &[
            ("default", 0, Success),
            ("default", 1, Failure),
            ("default", 23, Failure),
            ("borg", 0, Success),
            ("borg", 1, Warning),
            ("borg", 2, Failure),
            ("borg", 128, Failure),
            ("restic", 0, Success),
            ("restic", 1, Failure),
            ("restic", 3, Warning),
            ("restic", 10, Failure),
            ("rsync", 0, Success),
            ("rsync", 23, Warning),
            ("rsync", 24, Warning),
            ("rsync", 12, Failure),
            ("rsync", 1, Failure),
            ("rsync", 20, Cancelled),
            ("rclone", 0, Success),
            ("rclone", 1, Failure),
            ("rclone", 9, Failure),
            ("default", 130, Failure),
            ("default", 143, Failure),
            ("restic", 130, Cancelled),
            ("restic", 143, Cancelled),
            ("borg", 143, Cancelled),
            ("borg", 129, Cancelled),
            ("rclone", 130, Cancelled),
            ("rsync", 130, Cancelled),
        ];
        for &(preset, code, want) in cases {
            let codes: ExitCodes = preset.parse().unwrap();
            assert_eq!(codes.outcome(Some(code), None), want, "{preset} {code}");
        }
    }

    #[test]
    fn signals_win_over_codes() {
        let codes = ExitCodes::default();
        assert_eq!(codes.outcome(None, Some(2)), Cancelled);
        assert_eq!(codes.outcome(None, Some(15)), Cancelled);
        assert_eq!(codes.outcome(None, Some(1)), Cancelled);
        assert_eq!(codes.outcome(None, Some(9)), Failure);
        assert_eq!(codes.outcome(None, Some(11)), Failure);
        assert_eq!(codes.outcome(Some(0), Some(9)), Failure);
        assert_eq!(codes.outcome(None, None), Failure);
    }

    #[test]
    fn custom_map() {
        let codes: ExitCodes =
            serde_json::from_str(r#"{"warning":[1,24],"cancelled":[130]}"#).unwrap();
        assert_eq!(codes.outcome(Some(0), None), Success);
        assert_eq!(codes.outcome(Some(1), None), Warning);
        assert_eq!(codes.outcome(Some(24), None), Warning);
        assert_eq!(codes.outcome(Some(130), None), Cancelled);
        assert_eq!(codes.outcome(Some(2), None), Failure);

        let codes: ExitCodes = serde_json::from_str(r#"{"success":[0,1]}"#).unwrap();
        assert_eq!(codes.outcome(Some(1), None), Success);
    }

    #[test]
    fn deserialize_errors_are_clear() {
        let err = serde_json::from_str::<ExitCodes>(r#""borgg""#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown exit-code preset `borgg`"), "{err}");
        assert!(
            err.contains("default, borg, restic, rsync, rclone"),
            "{err}"
        );
        let err = serde_json::from_str::<ExitCodes>(r#"{"warn":[1]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `warn`"), "{err}");
        let err = serde_json::from_str::<ExitCodes>("3")
            .unwrap_err()
            .to_string();
        assert!(err.contains("a preset name"), "{err}");
    }

    #[test]
    fn serde_round_trip() {
        for text in [
            r#""rsync""#,
            r#"{"success":[0],"warning":[1],"cancelled":[]}"#,
        ] {
            let codes: ExitCodes = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::to_string(&codes).unwrap(), text);
        }
    }
}
