-- A version-1 vote store as the v1 code (colorlab/arena/store.py at a23b76a) wrote it, dumped
-- with sqlite3 iterdump: battle EOvOdj_... voted by session s1, battle sJQmPlk7... never voted.
BEGIN TRANSACTION;
CREATE TABLE battles (
        battle_id TEXT PRIMARY KEY, issued_at TEXT NOT NULL, expires_at TEXT NOT NULL,
        session_id TEXT NOT NULL, client_hash TEXT NOT NULL, task TEXT NOT NULL,
        input_hash TEXT NOT NULL, method_a TEXT NOT NULL, params_a TEXT NOT NULL,
        method_b TEXT NOT NULL, params_b TEXT NOT NULL,
        left_side TEXT NOT NULL CHECK (left_side IN ('a', 'b')));
INSERT INTO "battles" VALUES('EOvOdj_QTVACOh7AmrgC58cBeeu-7zaq','2025-06-01T12:00:00.000000+00:00','2025-06-01T13:00:00.000000+00:00','s1','3998aa729c3615248ebd8bbfb9a35648d9ba8c35efaa96b470157c1ffc14b7f8','recolor','9999999999999999999999999999999999999999999999999999999999999999','chang','{"strength": 0.5}','palettenet','{}','b');
INSERT INTO "battles" VALUES('sJQmPlk7AhDgeAvb-Xwcze_MfH-26RR9','2025-06-01T12:00:00.000000+00:00','2057-02-07T13:46:40.000000+00:00','s1','3998aa729c3615248ebd8bbfb9a35648d9ba8c35efaa96b470157c1ffc14b7f8','recolor','9999999999999999999999999999999999999999999999999999999999999999','chang','{}','palettenet','{}','a');
CREATE TABLE claims (
        battle_id TEXT NOT NULL UNIQUE REFERENCES battles (battle_id),
        vote_id TEXT NOT NULL UNIQUE, claimed_at TEXT NOT NULL);
INSERT INTO "claims" VALUES('EOvOdj_QTVACOh7AmrgC58cBeeu-7zaq','8f524220fbba407eae1e5d3a0cb41876','2025-06-01T12:00:00.000000+00:00');
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO "schema_version" VALUES(1);
CREATE TABLE votes (
        vote_id TEXT PRIMARY KEY, battle_id TEXT NOT NULL UNIQUE REFERENCES claims (battle_id),
        time TEXT NOT NULL, session_id TEXT NOT NULL, client_hash TEXT NOT NULL,
        input_hash TEXT NOT NULL, task TEXT NOT NULL, method_a TEXT NOT NULL,
        params_a TEXT NOT NULL, method_b TEXT NOT NULL, params_b TEXT NOT NULL,
        left_side TEXT NOT NULL CHECK (left_side IN ('a', 'b')),
        winner TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie', 'both_bad')),
        latency_ms REAL, app_version TEXT NOT NULL);
INSERT INTO "votes" VALUES('8f524220fbba407eae1e5d3a0cb41876','EOvOdj_QTVACOh7AmrgC58cBeeu-7zaq','2025-06-01T12:00:00.000000+00:00','s1','3998aa729c3615248ebd8bbfb9a35648d9ba8c35efaa96b470157c1ffc14b7f8','9999999999999999999999999999999999999999999999999999999999999999','recolor','chang','{"strength": 0.5}','palettenet','{}','b','b',1200.0,'0.1.0');
CREATE INDEX votes_by_session ON votes (session_id, time);
CREATE INDEX votes_by_client ON votes (client_hash, time);
CREATE INDEX votes_by_task ON votes (task);
CREATE TRIGGER battles_no_update BEFORE UPDATE ON battles BEGIN SELECT RAISE(ABORT, 'battles are append-only: UPDATE is not allowed'); END;
CREATE TRIGGER battles_no_delete BEFORE DELETE ON battles BEGIN SELECT RAISE(ABORT, 'battles are append-only: DELETE is not allowed'); END;
CREATE TRIGGER battles_no_overwrite BEFORE INSERT ON battles WHEN EXISTS (SELECT 1 FROM battles WHERE battle_id = NEW.battle_id) BEGIN SELECT RAISE(ABORT, 'battles are append-only: battle_id exists'); END;
CREATE TRIGGER claims_no_update BEFORE UPDATE ON claims BEGIN SELECT RAISE(ABORT, 'claims are append-only: UPDATE is not allowed'); END;
CREATE TRIGGER claims_no_delete BEFORE DELETE ON claims BEGIN SELECT RAISE(ABORT, 'claims are append-only: DELETE is not allowed'); END;
CREATE TRIGGER claims_no_overwrite BEFORE INSERT ON claims WHEN EXISTS (SELECT 1 FROM claims WHERE battle_id = NEW.battle_id) BEGIN SELECT RAISE(ABORT, 'claims are append-only: battle_id exists'); END;
CREATE TRIGGER votes_no_update BEFORE UPDATE ON votes BEGIN SELECT RAISE(ABORT, 'votes are append-only: UPDATE is not allowed'); END;
CREATE TRIGGER votes_no_delete BEFORE DELETE ON votes BEGIN SELECT RAISE(ABORT, 'votes are append-only: DELETE is not allowed'); END;
CREATE TRIGGER votes_no_overwrite BEFORE INSERT ON votes WHEN EXISTS (SELECT 1 FROM votes WHERE vote_id = NEW.vote_id) BEGIN SELECT RAISE(ABORT, 'votes are append-only: vote_id exists'); END;
COMMIT;
