"""The card slice: the appli carte Vitale card seen, presented and checked."""
