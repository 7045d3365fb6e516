# cumulus-etl in a container: a static binary on an empty base image, run as a non-root user.
#   docker compose run --rm --volume /my/exported/files:/folder cumulus-etl --export-to=/folder https://my-fhir-server/ s3://output/ s3://phi/
# See README.md, "Container".

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=container
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X cumulus-etl/internal/cli.Version=${VERSION}" \
      -o /out/usr/local/bin/cumulus-etl ./cmd/cumulus-etl \
 && mkdir -p /out/tmp /out/home/cumulus /out/etc/ssl/certs \
 && chmod 1777 /out/tmp && chown 65532:65532 /out/home/cumulus && chmod 700 /out/home/cumulus \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
 && echo 'cumulus:x:65532:65532:cumulus-etl:/home/cumulus:/sbin/nologin' > /out/etc/passwd \
 && echo 'cumulus:x:65532:' > /out/etc/group

# Nothing but the binary, CA certificates (HTTPS to the EHR and S3), /tmp and a home folder.
FROM scratch
COPY --from=build /out/ /
ENV HOME=/home/cumulus TMPDIR=/tmp
USER 65532:65532
WORKDIR /home/cumulus
ENTRYPOINT ["/usr/local/bin/cumulus-etl"]
