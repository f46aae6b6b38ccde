//! Overrides of a scenario from the command line (`--duration 2s`,
//! `--set population.audience.count=500`), applied to the scenario before
//! it is validated, so an override obeys the same rules as the file, and
//! recorded in the report as given.

use super::invalid::{OverrideProblem, ScenarioError};
use super::scenario::Scenario;

/// One `KEY=VALUE` override.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// As given, for the report (`run.duration=2s`).
    pub text: String,
    key: Key,
    value: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Key {
    Duration,
    Messages,
    Drain,
    ConnectTimeout,
    MaxScheduleLag,
    Count(String),
    Rate(String),
    Ramp(String),
}

impl Override {
    /// `--duration D`: the traffic phase lasts `D` (a message-count stop is dropped).
    pub fn duration(value: &str) -> Override {
        Override {
            text: format!("run.duration={value}"),
            key: Key::Duration,
            value: value.into(),
        }
    }

    /// Parses a `--set KEY=VALUE`.
    pub fn parse(text: &str) -> Result<Override, ScenarioError> {
        let bad = |why| ScenarioError::Override {
            text: text.into(),
            why,
        };
        let (key, value) = text.split_once('=').ok_or(bad(OverrideProblem::Syntax))?;
        let parts: Vec<&str> = key.trim().split('.').collect();
        let key = match parts[..] {
            ["run", "duration"] => Key::Duration,
            ["run", "messages"] => Key::Messages,
            ["run", "drain"] => Key::Drain,
            ["run", "connect_timeout"] => Key::ConnectTimeout,
            ["run", "max_schedule_lag"] => Key::MaxScheduleLag,
            ["population", name, "count"] => Key::Count(name.into()),
            ["population", name, "rate"] => Key::Rate(name.into()),
            ["population", name, "ramp"] => Key::Ramp(name.into()),
            _ => return Err(bad(OverrideProblem::UnknownKey)),
        };
        Ok(Override {
            text: text.trim().into(),
            key,
            value: value.trim().into(),
        })
    }

    fn err(&self, why: OverrideProblem) -> ScenarioError {
        ScenarioError::Override {
            text: self.text.clone(),
            why,
        }
    }

    fn number<T: std::str::FromStr>(&self, expected: &'static str) -> Result<T, ScenarioError> {
        self.value.parse().map_err(|_| {
            self.err(OverrideProblem::Value {
                value: self.value.clone(),
                expected,
            })
        })
    }

    /// Applies the override to `s`.
    pub fn apply(&self, s: &mut Scenario) -> Result<(), ScenarioError> {
        let value = self.value.clone();
        match &self.key {
            Key::Duration => {
                s.run.duration = Some(value);
                s.run.messages = None;
            }
            Key::Messages => {
                s.run.messages = Some(self.number("whole number of messages")?);
                s.run.duration = None;
            }
            Key::Drain => s.run.drain = Some(value),
            Key::ConnectTimeout => s.run.connect_timeout = Some(value),
            Key::MaxScheduleLag => s.run.max_schedule_lag = Some(value),
            Key::Count(name) | Key::Rate(name) | Key::Ramp(name) => self.population(s, name)?,
        }
        Ok(())
    }

    fn population(&self, s: &mut Scenario, name: &str) -> Result<(), ScenarioError> {
        let known: Vec<String> = (0..s.population.len())
            .map(|i| s.population[i].display_name(i))
            .collect();
        let Some(i) = known.iter().position(|k| k == name) else {
            return Err(self.err(OverrideProblem::UnknownPopulation {
                name: name.into(),
                known: known.join(", "),
            }));
        };
        let p = &mut s.population[i];
        match &self.key {
            Key::Count(_) => *p.count_mut() = self.number("whole number of clients")?,
            Key::Ramp(_) => *p.ramp_mut() = Some(self.number("number per second")?),
            _ => {
                let rate = self.number("number per second")?;
                let behaviour = p.behaviour();
                let slot = p.rate_mut().ok_or_else(|| {
                    self.err(OverrideProblem::NotApplicable {
                        name: name.into(),
                        behaviour,
                        field: "rate",
                    })
                })?;
                *slot = Some(rate);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = "version = 1\nname = \"a\"\n[run]\nmessages = 5\n[[channels]]\nname = \"c\"\nkind = \"public\"\n[[population]]\nname = \"audience\"\nbehaviour = \"subscriber\"\ncount = 10000\nchannels = \"c\"\n";

    #[test]
    fn overrides_change_the_scenario_and_unknown_names_are_listed() {
        let mut s = Scenario::from_toml(TOML).expect("valid");
        Override::parse("population.audience.count=20")
            .expect("parses")
            .apply(&mut s)
            .expect("applies");
        Override::duration("2s").apply(&mut s).expect("applies");
        assert_eq!(s.run.duration.as_deref(), Some("2s"));
        assert_eq!(s.run.messages, None);
        let mut count = s.population[0].clone();
        assert_eq!(*count.count_mut(), 20);
        let err = Override::parse("population.crowd.count=1")
            .expect("parses")
            .apply(&mut s)
            .expect_err("no such population");
        assert!(err.to_string().contains("audience"), "{err}");
        let err = Override::parse("population.audience.rate=1")
            .expect("parses")
            .apply(&mut s)
            .expect_err("subscribers have no rate");
        assert!(err.to_string().contains("subscriber"), "{err}");
        assert!(Override::parse("speed=3").is_err());
        assert!(Override::parse("run.duration").is_err());
    }
}
