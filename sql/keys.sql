-- Primary and foreign keys, added after the bulk load (cheaper than checking them row by row).
ALTER TABLE sites      ADD PRIMARY KEY (id);
ALTER TABLE devices    ADD PRIMARY KEY (id);
ALTER TABLE readings   ADD PRIMARY KEY (id);
ALTER TABLE users      ADD PRIMARY KEY (id);
ALTER TABLE api_keys   ADD PRIMARY KEY (id);
ALTER TABLE user_sites ADD PRIMARY KEY (user_id, site_id);
ALTER TABLE reports    ADD PRIMARY KEY (id);

ALTER TABLE users      ADD UNIQUE (email);
ALTER TABLE api_keys   ADD UNIQUE (key_hash);

ALTER TABLE devices    ADD FOREIGN KEY (site_id)   REFERENCES sites (id);
ALTER TABLE readings   ADD FOREIGN KEY (device_id) REFERENCES devices (id);
ALTER TABLE api_keys   ADD FOREIGN KEY (user_id)   REFERENCES users (id);
ALTER TABLE user_sites ADD FOREIGN KEY (user_id)   REFERENCES users (id);
ALTER TABLE user_sites ADD FOREIGN KEY (site_id)   REFERENCES sites (id);
ALTER TABLE reports    ADD FOREIGN KEY (user_id)   REFERENCES users (id);
