-- Ranks, group sizes, the top of a group and its groups all come from the in-memory rank
-- index, in the writer too: the index on a board's order only cost a page write per
-- change of value (6% of the pages a fully configured event wrote).
DROP INDEX leaderboard_values_ranked;
