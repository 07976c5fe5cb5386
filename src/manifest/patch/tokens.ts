/**
 * The tokens of a go-patch pointer (`/key`, `/0`, `/-`, `/name=val`, with `?` and `:modifier`s).
 * A pointer always starts with the root token.
 */

/** `:prev`/`:next` move an array index; `:before`/`:after` turn a replace into an insertion. */
export type Modifier = 'prev' | 'next' | 'before' | 'after';

export interface RootToken {
  readonly kind: 'root';
}

/** `/0`, `/-1`, `/2:prev` — an array index, negative ones count from the end. */
export interface IndexToken {
  readonly kind: 'index';
  readonly index: number;
  readonly modifiers: readonly Modifier[];
}

/** `/-` as the last token — the imaginary index after the last item (append). */
export interface AfterLastIndexToken {
  readonly kind: 'after-last-index';
}

/** `/name=val` — the one array item that is a map whose string key `key` equals `value`. */
export interface MatchingIndexToken {
  readonly kind: 'matching-index';
  readonly key: string;
  readonly value: string;
  readonly optional: boolean;
  readonly modifiers: readonly Modifier[];
}

/** `/key` — a map key; only matches a string key, as in Go's map[interface{}]interface{}. */
export interface KeyToken {
  readonly kind: 'key';
  readonly key: string;
  readonly optional: boolean;
}

export type Token = RootToken | IndexToken | AfterLastIndexToken | MatchingIndexToken | KeyToken;

export const rootToken: RootToken = { kind: 'root' };

/** The Go type name (`%T`) go-patch's error messages print for a token. */
export function goTokenTypeName(token: Token): string {
  switch (token.kind) {
    case 'root':
      return 'patch.RootToken';
    case 'index':
      return 'patch.IndexToken';
    case 'after-last-index':
      return 'patch.AfterLastIndexToken';
    case 'matching-index':
      return 'patch.MatchingIndexToken';
    case 'key':
      return 'patch.KeyToken';
  }
}

/** The Go type name (`%T`) go-patch's error messages print for a modifier. */
export function goModifierTypeName(modifier: Modifier): string {
  switch (modifier) {
    case 'prev':
      return 'patch.PrevModifier';
    case 'next':
      return 'patch.NextModifier';
    case 'before':
      return 'patch.BeforeModifier';
    case 'after':
      return 'patch.AfterModifier';
  }
}
