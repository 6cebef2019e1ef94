//! DSCO's side of the mappings, uploaded as CSV: the supplier's warehouses (`code,name`) and the
//! ship methods the retailers accept (`carrier,method,service_level_code,description`). An upload
//! replaces the whole list, atomically, reporting every bad row.

use std::collections::HashMap;

use super::{RowError, csv, normalize};
use crate::reference::{DscoShipMethod, DscoWarehouse};

pub const WAREHOUSE_COLUMNS: &[&str] = &["code", "name"];
pub const SHIP_METHOD_COLUMNS: &[&str] =
    &["carrier", "method", "service_level_code", "description"];

/// Parse a warehouse list: codes are required and unique (case-insensitively).
pub fn parse_warehouses(bytes: &[u8]) -> Result<Vec<DscoWarehouse>, Vec<RowError>> {
    let table = csv::parse(bytes, WAREHOUSE_COLUMNS).map_err(|e| vec![e])?;
    let rows = table.rows;
    let mut problems = table.problems;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for (line, mut values) in rows {
        let name = values.pop().unwrap_or_default();
        let code = values.pop().unwrap_or_default();
        if code.is_empty() {
            problems.push(RowError::new(line, "code is empty"));
            continue;
        }
        if let Some(first) = seen.insert(normalize(&code), line) {
            problems.push(RowError::new(
                line,
                format!("duplicate code {code:?} (first on line {first})"),
            ));
            continue;
        }
        out.push(DscoWarehouse { code, name });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        problems.sort_by_key(|p| p.line);
        Err(problems)
    }
}

/// Parse a ship-method list: each row needs a service level code, or a carrier and a method;
/// a code appears once.
pub fn parse_ship_methods(bytes: &[u8]) -> Result<Vec<DscoShipMethod>, Vec<RowError>> {
    let table = csv::parse(bytes, SHIP_METHOD_COLUMNS).map_err(|e| vec![e])?;
    let rows = table.rows;
    let mut problems = table.problems;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for (line, values) in rows {
        let [carrier, method, service_level_code, description]: [String; 4] =
            match values.try_into() {
                Ok(v) => v,
                Err(_) => continue,
            };
        if service_level_code.is_empty() && (carrier.is_empty() || method.is_empty()) {
            problems.push(RowError::new(
                line,
                "give service_level_code, or both carrier and method",
            ));
            continue;
        }
        let identity = if service_level_code.is_empty() {
            format!("|{}|{}", normalize(&carrier), normalize(&method))
        } else {
            normalize(&service_level_code)
        };
        if let Some(first) = seen.insert(identity, line) {
            problems.push(RowError::new(
                line,
                format!("duplicate ship method (first on line {first})"),
            ));
            continue;
        }
        out.push(DscoShipMethod {
            carrier,
            method,
            service_level_code,
            description,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        problems.sort_by_key(|p| p.line);
        Err(problems)
    }
}

pub fn warehouses_csv(warehouses: &[DscoWarehouse]) -> Vec<u8> {
    csv::write(
        WAREHOUSE_COLUMNS,
        warehouses
            .iter()
            .map(|w| vec![w.code.clone(), w.name.clone()]),
    )
}

pub fn ship_methods_csv(methods: &[DscoShipMethod]) -> Vec<u8> {
    csv::write(
        SHIP_METHOD_COLUMNS,
        methods.iter().map(|m| {
            vec![
                m.carrier.clone(),
                m.method.clone(),
                m.service_level_code.clone(),
                m.description.clone(),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warehouse_codes_are_required_and_unique() {
        let errors =
            parse_warehouses(b"code,name\nMAIN,Main\n,Nameless\nmain,Again\n").unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4]);
        let ok = parse_warehouses(b"\xEF\xBB\xBFcode,name\nMAIN,Main\nEAST,\n").unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(parse_warehouses(&warehouses_csv(&ok)).unwrap(), ok);
    }

    #[test]
    fn ship_methods_need_a_code_or_carrier_and_method() {
        let errors = parse_ship_methods(
            b"carrier,method,service_level_code,description\nUSPS,Ground,,\nUPS,,,\n,,GCG,x\n,,gcg,y\n",
        )
        .unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 5]);
    }
}
