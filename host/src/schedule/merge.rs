//! Merging sources: the preferred source defines events and sessions; the others fill in what
//! they know best (OpenF1's session ends and start times, jolpica's names and circuits, circuit
//! offsets) without ever adding or duplicating a session.

use chrono::Duration;

use super::model::Event;

/// Enriches `primary` with facts from `other` (named `other_name`).
pub fn enrich(primary: &mut [Event], other: &[Event], other_name: &str) {
    for event in primary.iter_mut() {
        let Some(twin) = find_twin(event, other) else { continue };
        if other_name == "jolpica" {
            // jolpica names events and circuits properly; OpenF1 only has short names.
            event.name.clone_from(&twin.name);
            event.slug.clone_from(&twin.slug);
            let zone = event.circuit.timezone.take();
            event.circuit = twin.circuit.clone();
            if event.circuit.timezone.is_none() {
                event.circuit.timezone = zone;
            }
        } else if event.circuit.timezone.is_none() {
            event.circuit.timezone.clone_from(&twin.circuit.timezone);
        }
        for session in &mut event.sessions {
            let Some(other) = twin.sessions.iter().find(|s| s.kind == session.kind) else { continue };
            match (session.start, other.start) {
                (None, Some(start)) => {
                    session.start = Some(start);
                    session.end = other.end;
                    session.date = None;
                }
                (Some(start), Some(other_start)) if start == other_start && other_name == "openf1" => {
                    // OpenF1 knows real ends (e.g. a 90-minute practice); jolpica has none.
                    session.end = other.end.or(session.end);
                }
                _ => {}
            }
        }
    }
}

/// The other source's event for the same weekend: same circuit, races within four days.
fn find_twin<'a>(event: &Event, others: &'a [Event]) -> Option<&'a Event> {
    let day = |e: &Event| e.sessions.iter().rev().find_map(|s| s.start.map(|t| t.date_naive()).or(s.date));
    let ours = day(event)?;
    others.iter().find(|o| {
        day(o).is_some_and(|theirs| (theirs - ours).abs() <= Duration::days(4))
            && (o.circuit.id == event.circuit.id || o.circuit.timezone == event.circuit.timezone)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{
        SessionKind,
        sources::{jolpica_events, parse_jolpica_page, parse_openf1},
    };

    const J2026: &str = include_str!("../../../testbed/fixtures/jolpica-2026.json");
    const O2026: &str = include_str!("../../../testbed/fixtures/openf1-sessions-2026.json");

    #[test]
    fn jolpica_primary_gets_openf1_ends_without_duplicates() {
        let mut primary = jolpica_events(2026, parse_jolpica_page(J2026).unwrap().races).unwrap();
        let before: usize = primary.iter().map(|e| e.sessions.len()).sum();
        let other = parse_openf1(2026, O2026).unwrap();
        enrich(&mut primary, &other, "openf1");
        let after: usize = primary.iter().map(|e| e.sessions.len()).sum();
        assert_eq!(before, after, "no session added");
        let miami = primary.iter().find(|e| e.circuit.id == "miami").unwrap();
        let fp1 = miami.sessions.iter().find(|s| s.kind == SessionKind::Fp1).unwrap();
        let minutes = (fp1.end.unwrap() - fp1.start.unwrap()).num_minutes();
        assert_eq!(minutes, 90, "Miami FP1 is 90 minutes, known only to OpenF1");
    }

    #[test]
    fn openf1_primary_gets_jolpica_names() {
        let mut primary = parse_openf1(2026, O2026).unwrap();
        let other = jolpica_events(2026, parse_jolpica_page(J2026).unwrap().races).unwrap();
        enrich(&mut primary, &other, "jolpica");
        let sepang = primary.iter().find(|e| e.circuit.id == "sepang").unwrap();
        assert_eq!(sepang.name, "Bahrain Grand Prix in Malaysia");
        assert_eq!(sepang.circuit.name, "Sepang International Circuit");
    }
}
