//! Old-version store fixtures read through the product's own types (the store's unit tests read
//! them as raw JSON, since the store does not depend on `settings` or `mapping`).

use dsco_brightpearl::mapping::ItemMapping;
use dsco_brightpearl::settings::Settings;
use dsco_brightpearl::store::Store;

/// The version-2 fixture, migrated to the latest version, still holds its settings and item
/// mapping in the shapes the settings and mapping types read.
#[test]
fn the_version_2_fixture_reads_through_the_settings_and_mapping_types() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/store-v2.redb");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    std::fs::copy(fixture, &path).unwrap();
    let store = Store::open(&path).unwrap();
    store
        .read(|tx| {
            let settings = Settings::load(tx)?;
            assert_eq!(settings.orders.defaults.currency.as_deref(), Some("USD"));
            let items = tx.mappings::<ItemMapping>("items")?;
            assert_eq!(items[0].1.brightpearl_product_id, 101);
            Ok(())
        })
        .unwrap();
}
