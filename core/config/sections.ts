import * as v from 'valibot';

/** A plugin kind's top-level tp.yaml section: `key` holds `enabled` and the list `list` (`db` → `databases`). */
export interface SectionSpec {
  key: string;
  list: string;
}

/** One plugin section as read: whether it is on, and its raw entries (each plugin validates the ones it claims). */
export interface SectionConfig {
  enabled: boolean;
  entries: unknown[];
}

/** The shape every plugin section shares: `{enabled: true, <list>: [{...}, ...]}`; unknown keys are errors. */
export function sectionSchema(spec: SectionSpec) {
  return v.strictObject({
    enabled: v.optional(v.boolean(), true),
    [spec.list]: v.optional(v.array(v.looseObject({})), []),
  });
}
