import { h } from 'preact';
import htm from 'htm';

/** Tagged templates for Preact: no JSX compiler needed. */
export const html = htm.bind(h);
