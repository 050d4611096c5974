//! Bundled circuit facts the APIs do not give: each circuit's IANA time zone, OpenF1's short
//! name for it, and the usual Grand Prix name (used when only OpenF1 answers).

/// One known circuit.
pub struct CircuitFacts {
    /// jolpica `circuitId`.
    pub id: &'static str,
    /// IANA time zone.
    pub timezone: &'static str,
    /// OpenF1 `circuit_short_name`.
    pub openf1: &'static str,
    /// The Grand Prix usually held there.
    pub grand_prix: &'static str,
}

const fn c(
    id: &'static str,
    timezone: &'static str,
    openf1: &'static str,
    grand_prix: &'static str,
) -> CircuitFacts {
    CircuitFacts { id, timezone, openf1, grand_prix }
}

/// Every circuit of the recent calendars.
pub const CIRCUITS: &[CircuitFacts] = &[
    c("albert_park", "Australia/Melbourne", "Melbourne", "Australian Grand Prix"),
    c("americas", "America/Chicago", "Austin", "United States Grand Prix"),
    c("bahrain", "Asia/Bahrain", "Sakhir", "Bahrain Grand Prix"),
    c("baku", "Asia/Baku", "Baku", "Azerbaijan Grand Prix"),
    c("catalunya", "Europe/Madrid", "Catalunya", "Barcelona Grand Prix"),
    c("hockenheimring", "Europe/Berlin", "Hockenheim", "German Grand Prix"),
    c("hungaroring", "Europe/Budapest", "Hungaroring", "Hungarian Grand Prix"),
    c("imola", "Europe/Rome", "Imola", "Emilia Romagna Grand Prix"),
    c("interlagos", "America/Sao_Paulo", "Interlagos", "Brazilian Grand Prix"),
    c("istanbul", "Europe/Istanbul", "Istanbul", "Turkish Grand Prix"),
    c("jeddah", "Asia/Riyadh", "Jeddah", "Saudi Arabian Grand Prix"),
    c("losail", "Asia/Qatar", "Lusail", "Qatar Grand Prix"),
    c("madring", "Europe/Madrid", "Madring", "Spanish Grand Prix"),
    c("marina_bay", "Asia/Singapore", "Singapore", "Singapore Grand Prix"),
    c("miami", "America/New_York", "Miami", "Miami Grand Prix"),
    c("monaco", "Europe/Monaco", "Monte Carlo", "Monaco Grand Prix"),
    c("monza", "Europe/Rome", "Monza", "Italian Grand Prix"),
    c("mugello", "Europe/Rome", "Mugello", "Tuscan Grand Prix"),
    c("nurburgring", "Europe/Berlin", "Nurburgring", "Eifel Grand Prix"),
    c("portimao", "Europe/Lisbon", "Portimao", "Portuguese Grand Prix"),
    c("red_bull_ring", "Europe/Vienna", "Spielberg", "Austrian Grand Prix"),
    c("ricard", "Europe/Paris", "Le Castellet", "French Grand Prix"),
    c("rodriguez", "America/Mexico_City", "Mexico City", "Mexico City Grand Prix"),
    c("sepang", "Asia/Kuala_Lumpur", "Kuala Lumpur", "Malaysian Grand Prix"),
    c("shanghai", "Asia/Shanghai", "Shanghai", "Chinese Grand Prix"),
    c("silverstone", "Europe/London", "Silverstone", "British Grand Prix"),
    c("sochi", "Europe/Moscow", "Sochi", "Russian Grand Prix"),
    c("spa", "Europe/Brussels", "Spa-Francorchamps", "Belgian Grand Prix"),
    c("suzuka", "Asia/Tokyo", "Suzuka", "Japanese Grand Prix"),
    c("vegas", "America/Los_Angeles", "Las Vegas", "Las Vegas Grand Prix"),
    c("villeneuve", "America/Toronto", "Montreal", "Canadian Grand Prix"),
    c("yas_marina", "Asia/Dubai", "Yas Marina Circuit", "Abu Dhabi Grand Prix"),
    c("zandvoort", "Europe/Amsterdam", "Zandvoort", "Dutch Grand Prix"),
];

/// Facts by jolpica circuit id.
pub fn by_id(id: &str) -> Option<&'static CircuitFacts> {
    CIRCUITS.iter().find(|c| c.id == id)
}

/// Facts by OpenF1 `circuit_short_name`.
pub fn by_openf1(short_name: &str) -> Option<&'static CircuitFacts> {
    CIRCUITS.iter().find(|c| c.openf1.eq_ignore_ascii_case(short_name))
}

/// OpenF1's `gmt_offset` (`"11:00:00"`, `"-04:00:00"`) as `+11:00` / `-04:00`.
pub fn offset_zone(gmt_offset: &str) -> Option<String> {
    let (sign, rest) = match gmt_offset.strip_prefix('-') {
        Some(rest) => ('-', rest),
        None => ('+', gmt_offset.strip_prefix('+').unwrap_or(gmt_offset)),
    };
    let mut parts = rest.split(':');
    let hours: u32 = parts.next()?.parse().ok()?;
    let minutes: u32 = parts.next().unwrap_or("0").parse().ok()?;
    (hours <= 14 && minutes < 60).then(|| format!("{sign}{hours:02}:{minutes:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_offsets() {
        assert_eq!(by_id("sepang").unwrap().timezone, "Asia/Kuala_Lumpur");
        assert_eq!(by_openf1("monte carlo").unwrap().id, "monaco");
        assert_eq!(offset_zone("11:00:00").as_deref(), Some("+11:00"));
        assert_eq!(offset_zone("-04:00:00").as_deref(), Some("-04:00"));
        assert_eq!(offset_zone("05:30:00").as_deref(), Some("+05:30"));
        assert_eq!(offset_zone("garbage"), None);
        let mut ids: Vec<_> = CIRCUITS.iter().map(|c| c.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CIRCUITS.len(), "duplicate circuit ids");
    }
}
