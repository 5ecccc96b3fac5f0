//! Parameter validation shared by every model: an out-of-range parameter is
//! reported with its name, its value and the allowed range, so the scenario
//! layer can point the user at the exact key.

/// A model parameter outside its allowed range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{name} = {value} is out of range: expected {range}")]
pub struct ParamError {
    /// The parameter's name, as the model's struct field spells it.
    pub name: &'static str,
    /// The offending value.
    pub value: f64,
    /// The allowed range, in words (e.g. "0 < x <= 10000").
    pub range: String,
}

/// Checks `lo <= value <= hi` (and that it is finite).
pub(crate) fn check_range(
    name: &'static str,
    value: f64,
    lo: f64,
    hi: f64,
) -> Result<(), ParamError> {
    if value.is_finite() && value >= lo && value <= hi {
        Ok(())
    } else {
        Err(ParamError {
            name,
            value,
            range: format!("{lo} to {hi}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_parameter_value_and_range() {
        let e = check_range("latitude_deg", 91.0, -90.0, 90.0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "latitude_deg = 91 is out of range: expected -90 to 90"
        );
        assert!(check_range("x", f64::NAN, 0.0, 1.0).is_err());
    }
}
