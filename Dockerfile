# Build: a static-enough release binary (SQLite is bundled, so no system libsqlite).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY sql ./sql
COPY assets ./assets
COPY benches ./benches
COPY trophy.toml.example ./
RUN cargo build --release --locked --bin trophyd

# Run: the binary on a slim Debian with /data as the volume for trophy.toml and the database.
FROM debian:bookworm-slim
RUN useradd --system --home /data trophyd && mkdir -p /data && chown trophyd /data
COPY --from=build /src/target/release/trophyd /usr/local/bin/trophyd
USER trophyd
VOLUME /data
EXPOSE 8080
# With /data/trophy.toml the server uses it; without, it runs the built-in demo config.
ENTRYPOINT ["/bin/sh", "-c", "if [ -f /data/trophy.toml ]; then exec trophyd --config /data/trophy.toml --listen 0.0.0.0:8080 --data /data/trophy.db \"$@\"; else exec trophyd --listen 0.0.0.0:8080 --data /data/trophy.db \"$@\"; fi", "trophyd"]
