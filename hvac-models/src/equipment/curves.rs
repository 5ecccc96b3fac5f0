//! Performance curves in EnergyPlus's forms (EnergyPlus Input Output
//! Reference, `Curve:Biquadratic` and `Curve:Cubic`), with the default
//! single-speed DX coefficients EnergyPlus ships in its example files
//! (`DataSets/` and the `Coil:Cooling:DX:SingleSpeed` /
//! `Coil:Heating:DX:SingleSpeed` examples). Inputs are clamped to each curve's
//! limits, as EnergyPlus does.

/// `z = a + b·x + c·x² + d·y + e·y² + f·x·y`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Biquadratic {
    /// Coefficients a to f.
    pub coefficients: [f64; 6],
    /// Limits of x.
    pub x_range: (f64, f64),
    /// Limits of y.
    pub y_range: (f64, f64),
}

impl Biquadratic {
    /// The curve's value, with x and y clamped to their limits.
    pub fn eval(&self, x: f64, y: f64) -> f64 {
        let x = x.clamp(self.x_range.0, self.x_range.1);
        let y = y.clamp(self.y_range.0, self.y_range.1);
        let [a, b, c, d, e, f] = self.coefficients;
        a + b * x + c * x * x + d * y + e * y * y + f * x * y
    }
}

/// `z = a + b·x + c·x² + d·x³`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cubic {
    /// Coefficients a to d.
    pub coefficients: [f64; 4],
    /// Limits of x.
    pub x_range: (f64, f64),
}

impl Cubic {
    /// The curve's value, with x clamped to its limits.
    pub fn eval(&self, x: f64) -> f64 {
        let x = x.clamp(self.x_range.0, self.x_range.1);
        let [a, b, c, d] = self.coefficients;
        a + x * (b + x * (c + x * d))
    }
}

/// Cooling capacity modifier vs (indoor wet bulb [°C], outdoor dry bulb [°C]);
/// 1.0 at the AHRI rating point (19.44 °C, 35 °C).
pub const COOL_CAP_FT: Biquadratic = Biquadratic {
    coefficients: [
        0.942_587_793,
        0.009_543_347,
        0.000_683_770,
        -0.011_042_676,
        0.000_005_249,
        -0.000_009_720,
    ],
    x_range: (12.777_78, 23.888_89),
    y_range: (18.0, 46.111_11),
};

/// Cooling energy input ratio (1/COP) modifier vs (indoor wet bulb, outdoor
/// dry bulb); 1.0 at the rating point.
pub const COOL_EIR_FT: Biquadratic = Biquadratic {
    coefficients: [
        0.342_414_409,
        0.034_885_008,
        -0.000_623_700,
        0.004_977_216,
        0.000_437_951,
        -0.000_728_028,
    ],
    x_range: (12.777_78, 23.888_89),
    y_range: (18.0, 46.111_11),
};

/// Heating capacity modifier vs outdoor dry bulb [°C]; 1.0 at the AHRI
/// rating point (8.33 °C, 47 °F). Steady state, without frost: a cubic
/// least-squares fit (worst point 0.8 %) to a named unit's published
/// capacities at the temperatures where its coil does not frost (≥ 45 °F and
/// ≤ 17 °F): Goodman SSZ140361 with a CA*F3642 coil (the fixture
/// `tests/fixtures/goodman_ssz140361_heating.csv`, with its source). A
/// modern single-speed unit keeps more capacity in the cold than
/// EnergyPlus's older default curve (62 % at 17 °F against 54 %). Frost and
/// defrost between 17 and 45 °F: [`super::defrost_factors`].
pub const HEAT_CAP_FT: Cubic = Cubic {
    coefficients: [
        0.806_659_579,
        0.022_401_608,
        0.000_074_141_75,
        0.000_002_612_078,
    ],
    x_range: (-23.33, 18.33),
};

/// Heating energy input ratio modifier vs outdoor dry bulb [°C]; 1.0 at the
/// rating point.
pub const HEAT_EIR_FT: Cubic = Cubic {
    coefficients: [1.192_48, -0.030_043_8, 0.001_037_45, -0.000_023_328],
    x_range: (-20.0, 20.0),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_table_is_reproduced() {
        // Rating points.
        assert!((COOL_CAP_FT.eval(19.44, 35.0) - 1.00).abs() < 0.005);
        assert!((COOL_EIR_FT.eval(19.44, 35.0) - 1.00).abs() < 0.005);
        assert!((HEAT_CAP_FT.eval(8.33) - 1.00).abs() < 0.005);
        assert!((HEAT_EIR_FT.eval(8.33) - 1.00).abs() < 0.005);
        // Hot day: capacity down to ≈ 0.88 at 46 °C, efficiency down too.
        let hot = COOL_CAP_FT.eval(19.44, 46.0);
        assert!((hot - 0.88).abs() < 0.01, "{hot}");
        assert!(COOL_EIR_FT.eval(19.44, 46.0) > 1.15);
        // Cold day: the Goodman SSZ140361's 18.2 of 29.0 MBh at 17 °F
        // (0.628), 12.1 at 0 °F (0.417).
        let cold = HEAT_CAP_FT.eval(-8.333);
        assert!((cold - 0.628).abs() < 0.01, "{cold}");
        assert!((HEAT_CAP_FT.eval(-17.78) - 0.417).abs() < 0.01);
        assert!(HEAT_EIR_FT.eval(-15.0) > 1.3);
    }

    #[test]
    fn inputs_are_clamped_to_the_limits() {
        assert_eq!(
            COOL_CAP_FT.eval(19.44, 60.0),
            COOL_CAP_FT.eval(19.44, 46.111_11)
        );
        assert_eq!(HEAT_CAP_FT.eval(-40.0), HEAT_CAP_FT.eval(-23.33));
    }
}
