################################################################################
#
# rs6
#
################################################################################

RS6_VERSION = 0.1.0
# The BR2_EXTERNAL tree lives in rs6's source tree: build that checkout.
RS6_SITE = $(BR2_EXTERNAL_RS6_PATH)/../..
RS6_SITE_METHOD = local
RS6_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --exclude target
RS6_LICENSE = ISC

# What `cargo xtask install` installs (checked against it by xtask's tests).
RS6_PROGRAMS = \
	rs6-cleanfifodir rs6-ftrig-listen1 rs6-ftrig-notify rs6-ftrig-wait \
	rs6-hpr rs6-init rs6-log rs6-mkfifodir rs6-shutdown rs6-supervise \
	rs6-svc rs6-svlisten1 rs6-svok rs6-svscan rs6-svscanctl rs6-svstat \
	rs6-svwait
RS6_CONFIG_FILES = \
	rs6/examples/heartbeat/log/run rs6/examples/heartbeat/run \
	rs6/rc.init rs6/rc.shutdown

# The workspace's programs, not its build tool and tests. The release
# profile of the workspace Cargo.toml is what `cargo xtask build` uses:
# put back what the cargo infrastructure overrides from BR2_OPTIMIZE_*
# and BR2_ENABLE_LTO. .cargo/config.toml's rustflags for the musl targets
# (-lc, relocation-model=static, -z noseparate-code) apply: RUSTFLAGS is
# not set.
RS6_CARGO_BUILD_OPTS = --workspace --exclude xtask --exclude rs6-tests
RS6_CARGO_ENV = \
	CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
	CARGO_PROFILE_RELEASE_LTO=true \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
	CARGO_PROFILE_RELEASE_PANIC=abort \
	CARGO_PROFILE_RELEASE_STRIP=true

# A local package is not downloaded, so the download step does not vendor
# its crates: vendor them into the build directory (once) before the
# offline build.
define RS6_VENDOR_CRATES
	cd $(@D) && grep -q '^\[source.vendored-sources\]' .cargo/config.toml || \
		$(TARGET_MAKE_ENV) CARGO_HOME=$(BR_CARGO_HOME) \
			cargo vendor --locked --versioned-dirs vendor >> .cargo/config.toml
endef
RS6_PRE_BUILD_HOOKS += RS6_VENDOR_CRATES

# A virtual workspace cannot be `cargo install`ed: install the binaries.
define RS6_INSTALL_TARGET_CMDS
	$(foreach p,$(RS6_PROGRAMS),\
		$(INSTALL) -D -m 0755 $(@D)/target/$(RUSTC_TARGET_NAME)/release/$(p) \
			$(TARGET_DIR)/bin/$(p)$(sep))
	$(INSTALL) -d -m 0755 $(TARGET_DIR)/etc/rs6/sv
	$(foreach f,$(RS6_CONFIG_FILES),\
		$(INSTALL) -D -m 0755 $(@D)/packaging/rootfs/etc/$(f) \
			$(TARGET_DIR)/etc/$(f)$(sep))
endef

ifeq ($(BR2_PACKAGE_RS6_INIT),y)
define RS6_MAKE_INIT
	$(BR2_EXTERNAL_RS6_PATH)/board/rs6/post-build.sh $(TARGET_DIR)
endef
RS6_TARGET_FINALIZE_HOOKS += RS6_MAKE_INIT
endif

$(eval $(cargo-package))
