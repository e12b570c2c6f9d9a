# Models of this app are registered with askpro.admin_sites (platform_admin_site / tenant_admin_site).
