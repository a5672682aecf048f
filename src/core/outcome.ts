/** What applying one kit-sync change did to the directory's record: a duplicate call is `unchanged`. */
export type ChangeOutcome = 'created' | 'updated' | 'unchanged' | 'deleted' | 'absent';
