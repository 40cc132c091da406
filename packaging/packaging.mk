# `make deb`: the Debian package, built by dpkg-buildpackage in a scratch
# copy of the tree under build/deb/, so that the package build's clean
# step and its products never touch the working tree. Included from the
# top-level Makefile; uses its B and VERSION. The .debs, .changes and
# .buildinfo land in build/; lintian must report no error.

DEB_SRCDIR := $(B)/deb/a-healthy-dns-$(VERSION)
# What the package build needs: the tests are not run there.
DEB_TREE := Makefile README.md include src man packaging
# Overridable so the recipe can run before scripts/deps.sh knows "deb".
DEB_DEPS ?= scripts/deps.sh deb
# Warnings are printed; an error fails the build (a package with a lintian error is not shipped).
DEB_LINT = lintian --fail-on error --info $(B)/deb/a-healthy-dns_*.changes

.PHONY: deb deb-lint

deb:
	@$(DEB_DEPS)
	rm -rf $(B)/deb $(B)/a-healthy-dns*_*.deb $(B)/a-healthy-dns_*.changes \
		$(B)/a-healthy-dns_*.buildinfo
	mkdir -p $(DEB_SRCDIR)
	tar -cf - $(DEB_TREE) | tar -xf - -C $(DEB_SRCDIR)
	cp -R packaging/debian $(DEB_SRCDIR)/debian
	# Our MAKEFLAGS (jobserver, command-line variables such as PREFIX or
	# CFLAGS) must not leak into the package's own make.
	cd $(DEB_SRCDIR) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		dpkg-buildpackage -us -uc -b -Jauto
	cp $(B)/deb/a-healthy-dns*_*.deb $(B)/deb/a-healthy-dns_*.changes \
		$(B)/deb/a-healthy-dns_*.buildinfo $(B)/
	$(DEB_LINT)

deb-lint:
	$(DEB_LINT)

# `make image`: the container image (Dockerfile at the top), tagged
# IMAGE_TAG. Where no Docker engine runs, shared/tools/build-image.sh
# builds it with buildah; it sits beside the clone (../shared), in CI too.
IMAGE_TAG ?= a-healthy-dns:local
IMAGE_TOOLS ?= $(CURDIR)/../shared/tools

.PHONY: image

image:
	@if [ ! -f "$(IMAGE_TOOLS)/build-image.sh" ]; then \
		echo "make image: $(IMAGE_TOOLS)/build-image.sh not found;" \
			"it builds the image with buildah (set IMAGE_TOOLS to the" \
			"folder holding it, or run: docker build -t $(IMAGE_TAG) .)" >&2; \
		exit 1; \
	fi
	bash "$(IMAGE_TOOLS)/build-image.sh" "$(CURDIR)" "$(IMAGE_TAG)"
